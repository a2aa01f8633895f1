import { describe, expect, it } from 'vitest';
import { exactlyOnce, useSinkTestBed, waitFor, waitForLagZero, waitForRows } from '@floodgate/testkit';

/**
 * Done-when #1: 3 sink processes share 6 partitions under steady load; one of them is killed with
 * SIGKILL in the middle of its batches 5 times (the supervisor restarts it); at the end ClickHouse
 * holds exactly the produced events, each once.
 */
describe('sink: SIGKILL of a sink process, five times, under load', () => {
  const bed = useSinkTestBed('crash');
  const { names } = bed;

  it('lands every produced event exactly once', async () => {
    const { kafka, clickhouse, probe, producer } = bed;
    // Debug logs say when a batch's boundary is recorded and its insert starts: that is the moment to kill.
    const supervisor = await bed.startSupervisor(3, { SINK_FLUSH_MAX_AGE_MS: '200', LOG_LEVEL: 'debug' });
    await probe.waitForOwners(3);
    producer.startSteady(2000);

    const killed: number[] = [];
    for (let round = 0; round < 5; round++) {
      await new Promise((r) => setTimeout(r, 1500));
      // The victim: the next process to start inserting a batch, killed while that batch is in flight.
      const live = new Set((await probe.members()).processes.map((p) => p.pid));
      const inserting = await supervisor.waitForLog(
        (e) => e.msg === 'batch recorded; inserting' && typeof e.pid === 'number' && live.has(e.pid),
        10_000,
        'a batch being inserted',
        supervisor.entries.length,
      );
      const victim = { pid: inserting.pid! };
      process.kill(victim.pid, 'SIGKILL');
      killed.push(victim.pid);
      // The supervisor replaces it, and the three processes own all six partitions again.
      await waitFor(
        async () => {
          const now = await probe.members();
          const sup = now.supervisors[0];
          return sup && sup.workers.length === 3 && sup.workers.every((w) => w.pid !== null && !killed.includes(w.pid)) && now.processes.every((p) => !killed.includes(p.pid));
        },
        { timeoutMs: 30_000, intervalMs: 250, description: `the supervisor to replace sink process ${victim.pid}` },
      );
      await probe.waitForOwners(3, 6, 45_000);
    }
    await producer.stopSteady();

    const produced = producer.ids;
    expect(produced.length).toBeGreaterThan(10_000);
    await waitForRows(clickhouse, names.database, produced.length, 90_000);
    await waitForLagZero(kafka, names);
    const totals = await exactlyOnce(clickhouse, names.database, produced);
    expect(totals).toEqual({ rows: produced.length, distinct: produced.length, missing: 0, extra: 0 });

    const restarts = supervisor.count((e) => e.msg === 'sink process exited unexpectedly; restarting');
    expect(restarts).toBe(5);
    // The kills landed mid-batch: new owners found recorded, uncommitted batches and re-formed or skipped them.
    const reformed = supervisor.count((e) => e.msg === 're-forming the recorded batch');
    const skipped = supervisor.count((e) => e.msg === 'recorded batch was inserted; committing past it');
    expect(reformed + skipped).toBeGreaterThan(0);
    process.stdout.write(
      `crash test: ${produced.length} events, 5 SIGKILLs (pids ${killed.join(', ')}), ${reformed} batches re-formed and ${skipped} skipped by the next owner\n`,
    );
  });
});
