import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActorRecord } from '@floodgate/sink-protocol';
import { exactlyOnce, freePort, runCli, sinkEnv, SinkTestBed, startChdbServer, waitFor, waitForRows, type AppProcess } from '@floodgate/testkit';

/**
 * Done-when #2: ClickHouse unreachable for 10 s during load. The shared ClickHouse stays up (others
 * test on it): this test runs its own chdb-server, kills it, and starts it again on the same data.
 */
describe('sink: ClickHouse unreachable for 10 s under load', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'floodgate-outage-'));
  let port: number;
  let env: NodeJS.ProcessEnv;
  let server: AppProcess | undefined;

  const bed = new SinkTestBed('outage', { clickhouseUrl: () => `http://127.0.0.1:${port}`, dropDatabase: false });
  const { names } = bed;

  // The private chdb-server comes up before the shared set-up (which queries it) and goes after its teardown.
  beforeAll(async () => {
    port = await freePort();
    server = await startChdbServer(names.label, port, dataDir);
    env = { CLICKHOUSE_URL: `http://127.0.0.1:${port}`, SINK_INSERT_TIMEOUT_MS: '3000' };
    await bed.setUp();
  });

  afterAll(async () => {
    await bed.tearDown();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('pauses the partitions, retries, resumes, and loses or duplicates nothing', async () => {
    const { clickhouse, probe, producer } = bed;
    await bed.startSink(env);
    producer.startSteady(1000);
    await waitForRows(clickhouse, names.database, 1000, 30_000);

    // ClickHouse goes away (killed: an insert in flight may have landed without its answer).
    server!.child.kill('SIGKILL');
    await server!.exited;
    const downAt = Date.now();

    // While it is down: every partition is paused for `retry` and shows the error, in `floodgate status`.
    const during = await waitFor(
      async () => {
        const { stdout } = await runCli(['status', '--json'], sinkEnv(names, env));
        const status = JSON.parse(stdout) as { processes: Array<{ actors: ActorRecord[] }> };
        const actors = status.processes.flatMap((p) => p.actors);
        return actors.length === 6 && actors.every((a) => a.pausedFor.includes('retry') && a.lastError?.code === 'CLICKHOUSE_UNAVAILABLE') ? actors : undefined;
      },
      { timeoutMs: 8000, intervalMs: 500, description: 'all six partitions paused for retry in floodgate status' },
    );
    expect(during.map((a) => a.state)).toEqual(new Array(6).fill('retrying'));

    // Back after 10 s, on the same data.
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - downAt))));
    server = await startChdbServer(names.label, port, dataDir);
    await new Promise((r) => setTimeout(r, 3000));
    const produced = await bed.stopLoadAndWaitUntilLanded({ lagMs: 60_000, rowsMs: 30_000 });
    expect(await exactlyOnce(clickhouse, names.database, produced)).toEqual({ rows: produced.length, distinct: produced.length, missing: 0, extra: 0 });

    // Resumed: no partition paused any more, and the retries were counted.
    const after = await waitFor(
      async () => {
        const view = await probe.members();
        return view.actors.length === 6 && view.actors.every((a) => a.pausedFor.length === 0) ? view : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250, description: 'every partition resumed' },
    );
    const adminPort = after.processes[0]!.adminPort;
    // The lag gauge is refreshed by the heartbeat (SINK_MEMBER_HEARTBEAT_MS), not by the commit: read
    // it until the refresh after the last commit has happened.
    const lagZero = new RegExp(`^floodgate_sink_partition_lag\\{topic="${names.topic}",partition="0"\\} 0$`, 'm');
    const metrics = await waitFor(
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
        return lagZero.test(text) ? text : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250, description: 'the partition-0 lag gauge at 0 in /metrics' },
    );
    const retries = [...metrics.matchAll(/^floodgate_sink_insert_retries_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(retries).toBeGreaterThan(0);
    process.stdout.write(`outage test: ${produced.length} events, ${retries} insert retries during the 10 s outage\n`);
  });
});
