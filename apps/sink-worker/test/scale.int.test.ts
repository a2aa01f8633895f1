import { describe, expect, it } from 'vitest';
import { exactlyOnce, runCli, sinkEnv, useSinkTestBed, waitFor, waitForLagZero } from '@floodgate/testkit';

/** Done-when #6: `floodgate sink scale 3`, then `scale 1`, under load: processes appear and go; totals exact. */
describe('floodgate sink scale, under load', () => {
  const bed = useSinkTestBed('scale');
  const { names } = bed;
  const env = sinkEnv(names);

  it('grows to 3 processes and shrinks to 1, and every event lands once', async () => {
    const { clickhouse, probe, producer } = bed;
    const supervisor = await bed.startSupervisor(1);
    const one = await probe.waitForOwners(1);
    producer.startSteady(1500);
    await new Promise((r) => setTimeout(r, 1500));

    const up = await runCli(['sink', 'scale', '3'], env);
    expect(up.code, up.stderr).toBe(0);
    process.stdout.write(`\n$ floodgate sink scale 3\n${up.stdout}`);
    const three = await probe.waitForOwners(3, 6, 30_000);
    expect(three.processes.map((p) => p.pid)).toContain(one.processes[0]!.pid);
    expect(three.supervisors[0]).toMatchObject({ mode: 'fixed', desired: 3 });
    const text = await runCli(['status'], env);
    process.stdout.write(`$ floodgate status\n${text.stdout}\n`);
    await new Promise((r) => setTimeout(r, 2000));

    const down = await runCli(['sink', 'scale', '1'], env);
    expect(down.code, down.stderr).toBe(0);
    process.stdout.write(`$ floodgate sink scale 1\n${down.stdout}`);
    const back = await probe.waitForOwners(1, 6, 30_000);
    expect(back.processes[0]!.pid).toBe(one.processes[0]!.pid); // the newest processes go first
    await waitFor(async () => (await probe.members()).supervisors[0]?.workers.length === 1, { timeoutMs: 20_000, description: 'one worker left' });

    await new Promise((r) => setTimeout(r, 1500));
    const produced = await bed.stopLoadAndWaitUntilLanded();
    expect(await exactlyOnce(clickhouse, names.database, produced)).toEqual({ rows: produced.length, distinct: produced.length, missing: 0, extra: 0 });
    // The scaled-down processes drained (exit 0): the supervisor did not count them as crashes.
    expect(supervisor.count((e) => e.msg === 'sink process exited unexpectedly; restarting')).toBe(0);
    expect(supervisor.count((e) => e.msg === 'sink process stopped')).toBe(2);
    // The supervisor's /metrics sums its processes' metrics (prom-client's cluster aggregation).
    const adminPort = (await probe.members()).supervisors[0]!.adminPort;
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    expect(metrics).toMatch(/^floodgate_sink_supervisor_processes\{state="desired"\} 1$/m);
    expect(metrics).toMatch(new RegExp(`^floodgate_sink_partitions_owned\\{topic="${names.topic}"\\} 6$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^floodgate_sink_rows_inserted_total\\{topic="${names.topic}"\\} \\d+$`, 'm'));
  });
});

/** `floodgate sink scale --auto MIN..MAX`: the supervisor follows measured consumer lag. */
describe('floodgate sink scale --auto, from consumer lag', () => {
  const bed = useSinkTestBed('auto');
  const { names } = bed;
  const env = sinkEnv(names);

  it('adds a process while lag stays high and removes it once lag stayed low', async () => {
    const { kafka, clickhouse, probe, producer } = bed;
    await bed.startSupervisor(1, {
      SINK_AUTOSCALE_UP_LAG: '1000',
      SINK_AUTOSCALE_UP_SUSTAIN_MS: '1000',
      SINK_AUTOSCALE_DOWN_LAG: '0',
      SINK_AUTOSCALE_DOWN_SUSTAIN_MS: '2000',
      SINK_AUTOSCALE_COOLDOWN_MS: '2000',
      SINK_AUTOSCALE_INTERVAL_MS: '500',
    });
    await probe.waitForOwners(1);
    const auto = await runCli(['sink', 'scale', '--auto', '1..2'], env);
    expect(auto.code, auto.stderr).toBe(0);
    process.stdout.write(`\n$ floodgate sink scale --auto 1..2\n${auto.stdout}`);

    // Hold the lag up: the only process stops fetching, events keep coming.
    expect((await runCli(['sink', 'pause'], env)).code).toBe(0);
    await producer.send(3000);
    const grown = await waitFor(async () => {
      const view = await probe.members();
      return view.supervisors[0]?.desired === 2 && view.processes.length === 2 ? view : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250, description: 'the supervisor to add a second process' });
    expect(grown.supervisors[0]!.lastScale?.reason).toMatch(/^auto: lag \d+ >= 1000/);

    // Lag goes away once every process fetches again; after the quiet window it shrinks back.
    expect((await runCli(['sink', 'resume'], env)).code).toBe(0);
    await waitForLagZero(kafka, names);
    const shrunk = await waitFor(async () => {
      const view = await probe.members();
      return view.supervisors[0]?.desired === 1 && view.supervisors[0].workers.length === 1 ? view : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250, description: 'the supervisor to go back to one process' });
    expect(shrunk.supervisors[0]!.lastScale?.reason).toMatch(/^auto: lag 0 <= 0/);
    await probe.waitForOwners(1, 6, 30_000);
    expect(await exactlyOnce(clickhouse, names.database, producer.ids)).toEqual({ rows: 3000, distinct: 3000, missing: 0, extra: 0 });
  });
});
