import { describe, expect, it } from 'vitest';
import type { ActorRecord, ProcessRecord } from '@floodgate/sink-protocol';
import { exactlyOnce, runCli, sinkEnv, useSinkTestBed } from '@floodgate/testkit';

interface StatusJson {
  processes: Array<ProcessRecord & { actors: ActorRecord[] }>;
  partitions: Array<{ partition: number; owner: string | null; committed: number | null; end: number; lag: number; actor: ActorRecord | null }>;
}

/**
 * Done-when #5: `floodgate status` shows every live process, actor, partition and its lag; `sink
 * drain` on one process flushes and commits its batches, the others take its partitions over,
 * nothing is lost or duplicated.
 */
describe('floodgate status and sink drain, on three sink processes under load', () => {
  const bed = useSinkTestBed('drain');
  const { names } = bed;
  const env = sinkEnv(names);

  it('status lists every process, actor and partition with its lag; drain hands one process\'s partitions to the others', async () => {
    const { clickhouse, probe, producer } = bed;
    const sinks = await Promise.all(['a', 'b', 'c'].map((tag) => bed.startSink({}, tag)));
    await probe.waitForOwners(3);
    producer.startSteady(1500);
    await new Promise((r) => setTimeout(r, 2500));

    const json = await runCli(['status', '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    const status = JSON.parse(json.stdout) as StatusJson;
    const pids = sinks.map((s) => s.pid).sort();
    expect(status.processes.map((p) => p.pid).sort()).toEqual(pids);
    expect(status.processes.flatMap((p) => p.actors)).toHaveLength(6);
    expect(status.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3, 4, 5]);
    const live = new Set(status.processes.map((p) => p.id));
    for (const p of status.partitions) {
      expect(live.has(p.owner!), `partition ${p.partition} owned by a live process`).toBe(true);
      expect(p.lag).toBe(p.end - (p.committed ?? 0));
      expect(p.actor?.partition).toBe(p.partition);
      expect(p.actor?.lastFlush?.rows).toBeGreaterThan(0);
    }

    const text = await runCli(['status'], env);
    expect(text.code).toBe(0);
    for (const p of status.processes) expect(text.stdout).toContain(p.id);
    expect(text.stdout).toContain(`partitions of topic ${names.topic}, group ${names.group}`);
    process.stdout.write(`\n$ floodgate status\n${text.stdout}\n`);

    // Drain the process that owns partition 0.
    const victim = status.processes.find((p) => p.partitions.includes(0))!;
    const drained = await runCli(['sink', 'drain', '--process', victim.id], env);
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toContain('drained, left the group');
    process.stdout.write(`$ floodgate sink drain --process ${victim.id}\n${drained.stdout}\n`);
    const app = sinks.find((s) => s.pid === victim.pid)!;
    expect(await app.exited).toEqual({ code: 0, signal: null });
    const reply = JSON.parse((await runCli(['status', '--json'], env)).stdout) as StatusJson;
    expect(reply.processes.map((p) => p.id)).not.toContain(victim.id);

    const after = await probe.waitForOwners(2, 6, 30_000);
    expect(after.processes.map((p) => p.pid).sort()).toEqual(sinks.filter((s) => s !== app).map((s) => s.pid).sort());

    await new Promise((r) => setTimeout(r, 1500));
    const produced = await bed.stopLoadAndWaitUntilLanded();
    expect(await exactlyOnce(clickhouse, names.database, produced)).toEqual({ rows: produced.length, distinct: produced.length, missing: 0, extra: 0 });
    const flush = await runCli(['sink', 'flush'], env);
    expect(flush.code).toBe(0);
    const lag = JSON.parse((await runCli(['status', '--json'], env)).stdout) as StatusJson;
    expect(lag.partitions.every((p) => p.lag === 0)).toBe(true);
  });
});
