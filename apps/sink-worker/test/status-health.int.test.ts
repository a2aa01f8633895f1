import { describe, expect, it } from 'vitest';
import type { ActorRecord, Health, PartitionView, ProcessRecord } from '@floodgate/sink-protocol';
import { runCli, sinkEnv, useSinkTestBed, waitFor } from '@floodgate/testkit';

interface StatusJson {
  health: Health;
  processes: Array<ProcessRecord & { actors: ActorRecord[] }>;
  partitions: PartitionView[];
}

/**
 * Issue 12, `floodgate status`: read 20 times while two sink processes heartbeat (every 500 ms),
 * each read lists each process once and every partition with its owner; then the events table is
 * dropped under them, so inserts fail with an error that never succeeds by itself, and `status`
 * exits 2 naming the partition, the full code and the class.
 */
describe('floodgate status: one row per live process, owners filled, a wedged partition fails the probe', () => {
  const bed = useSinkTestBed('status_health');
  const { names } = bed;
  const extra = { SINK_STUCK_AFTER_MS: '2000', SINK_SHUTDOWN_TIMEOUT_MS: '5000' };
  const env = sinkEnv(names, extra);

  async function status(): Promise<{ code: number | null; view: StatusJson; stderr: string }> {
    const { code, stdout, stderr } = await runCli(['status', '--json'], env);
    return { code, view: JSON.parse(stdout) as StatusJson, stderr };
  }

  it('20 reads list each process once with every partition owned; a dropped table makes status exit 2 with never-succeeds', async () => {
    const sinks = [await bed.startSink(extra, 'a'), await bed.startSink(extra, 'b')];
    await bed.probe.waitForOwners(2);
    const pids = sinks.map((s) => s.pid).sort((a, b) => a - b);

    // 20 reads, four at a time, while both processes rewrite their records every 500 ms.
    const reads: Array<{ code: number | null; view: StatusJson; stderr: string }> = [];
    for (let round = 0; round < 5; round++) reads.push(...(await Promise.all([status(), status(), status(), status()])));
    expect(reads).toHaveLength(20);
    for (const [i, { code, view, stderr }] of reads.entries()) {
      expect(code, `read ${i}: ${stderr}`).toBe(0);
      expect(view.health).toEqual({ ok: true, problems: [] });
      expect(view.processes.map((p) => p.pid).sort((a, b) => a - b), `read ${i}`).toEqual(pids);
      const ids = view.processes.map((p) => p.id);
      expect(new Set(ids).size, `read ${i}`).toBe(ids.length);
      expect(view.partitions.map((p) => p.partition), `read ${i}`).toEqual([0, 1, 2, 3, 4, 5]);
      for (const p of view.partitions) expect(ids, `read ${i}: owner of partition ${p.partition}`).toContain(p.owner);
    }

    // The table goes away: every insert now fails with 60 UNKNOWN_TABLE, which retrying never fixes.
    await bed.clickhouse.command({ query: `DROP TABLE ${names.database}.events SYNC` });
    await bed.producer.send(60);
    const wedged = await waitFor(
      async () => {
        const s = await status();
        return s.code === 2 && s.view.partitions.some((p) => p.error?.stuck) ? s : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 500, description: 'floodgate status to exit 2 with a stuck partition' },
    );
    const failing = wedged.view.partitions.filter((p) => p.error !== null);
    expect(failing.length).toBeGreaterThan(0);
    for (const p of failing) {
      expect(p.error).toMatchObject({ code: 'CLICKHOUSE_UNAVAILABLE', cause: '60 UNKNOWN_TABLE', class: 'never-succeeds', step: 'insert' });
      expect(p.error!.message).toContain(`${names.database}.events`);
      expect(Date.parse(p.error!.since)).toBeLessThanOrEqual(Date.now());
    }
    expect(wedged.view.health.ok).toBe(false);
    expect(wedged.view.health.problems).toContain(
      `partition ${failing[0]!.partition} of ${names.topic} (group ${names.group}) ${failing[0]!.error!.stuck ? 'stuck' : 'failing'} since ${failing[0]!.error!.since}: CLICKHOUSE_UNAVAILABLE (60 UNKNOWN_TABLE) [never-succeeds]`,
    );
    const text = await runCli(['status'], env);
    expect(text.code).toBe(2);
    expect(text.stdout).toMatch(/^STUCK: partition \d of .*: insert failing, \d+ attempts, CLICKHOUSE_UNAVAILABLE \(60 UNKNOWN_TABLE\): .*\[never-succeeds: will not pass by itself, needs an operator\]$/m);
    expect(text.stdout).toMatch(/ CLICKHOUSE_UNAVAILABLE \(60 UNKNOWN_TABLE\) +never-succeeds +\d+s ago \(\d+ attempts\)$/m);
    expect(text.stdout).toContain('unhealthy (exit 2):');
    process.stdout.write(`\n$ floodgate status   (table dropped)\n${text.stdout}\n`);
  });
});
