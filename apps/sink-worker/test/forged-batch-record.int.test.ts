import { describe, expect, it } from 'vitest';
import { JsonBucket } from '@floodgate/nats';
import { batchKey, sinkControlPlane, type ActorRecord, type ProcessRecord } from '@floodgate/sink-protocol';
import type { BatchRecord } from '../src/batch-state.ts';
import { exactlyOnce, groupLag, newEvent, runCli, scalar, sinkEnv, toMessage, waitFor, waitForLagZero, waitForRows, type AppProcess, useSinkTestBed } from '@floodgate/testkit';

interface StatusJson {
  processes: Array<ProcessRecord & { actors: ActorRecord[] }>;
}

/**
 * A forged batch record (docs/security.md, "Forged batch records"): someone with write access to
 * the NATS batch bucket records as inserted a batch the sink never inserted, at the committed
 * offset, with the true timestamp of its first message. Trusted, it would make the next owner
 * commit past those events without inserting them. The sink must refuse it loudly (error log,
 * failing/stuck in `floodgate status`, a metric), insert nothing and skip nothing, stay up, and
 * once the operator deleted the record deliver every event exactly once.
 */
describe('sink: a forged batch record that would skip events', () => {
  const bed = useSinkTestBed('forged', { partitions: 1 });
  const { names } = bed;
  const extra = { KAFKA_PARTITIONS: '1', SINK_STUCK_AFTER_ATTEMPTS: '3', SINK_STUCK_AFTER_MS: '600000', SINK_RETRY_MAX_MS: '500' };
  const env = sinkEnv(names, extra);
  const refused = (e: { code?: unknown; level?: string }) => e.code === 'SINK_BATCH_RECORD_INVALID' && e.level === 'error';

  async function actor(): Promise<ActorRecord | undefined> {
    const { code, stdout, stderr } = await runCli(['status', '--json'], env);
    if (code !== 0 && code !== 2) throw new Error(`floodgate status failed (${code}): ${stderr}`);
    return (JSON.parse(stdout) as StatusJson).processes.flatMap((p) => p.actors).find((a) => a.partition === 0);
  }

  const base = Date.now() - 60_000;
  const produced: string[] = [];
  let sink: AppProcess;
  /** Events `from`..`from + count - 1` at those offsets, the one at offset o with timestamp base + o. */
  const send = async (from: number, count: number) => {
    const events = Array.from({ length: count }, (_, i) => newEvent(from + i));
    await bed.producer.sendRaw(events.map((e, i) => ({ ...toMessage(e), timestamp: String(base + from + i) })));
    return events.map((e) => e.id);
  };

  it('is refused (error log, stuck in status, metric), nothing is skipped or inserted, and after the record is deleted all events land exactly once', async () => {
    const { kafka, clickhouse, probe } = bed;

    // Offsets 0..99 delivered and committed by a first sink.
    produced.push(...(await send(0, 100)));
    sink = await bed.startSink(extra, 'first');
    await waitForRows(clickhouse, names.database, 100);
    await waitForLagZero(kafka, names);
    expect((await sink.stop()).code).toBe(0);

    // Offsets 100..149 arrive while no sink runs; the forger records 100..139 as inserted.
    produced.push(...(await send(100, 50)));
    const batches = await JsonBucket.open<BatchRecord>(probe.nc, sinkControlPlane(names.prefix).batchesBucket);
    const key = batchKey(names.group, names.topic, 0);
    const current = await batches.get(key);
    expect(current?.value.batch).toMatchObject({ state: 'inserted', last: 99 });
    const forged = { first: 100, last: 139, firstTimestamp: String(base + 100), rows: 40, state: 'inserted' as const, at: new Date().toISOString() };
    await batches.put(key, { ...current!.value, owner: 'forger/0/000000', batch: forged });

    sink = await bed.startSink(extra, 'forged');
    // Either the refusal, or (the defect) the partition reads on past the forged batch to the end.
    await waitFor(async () => sink.count(refused) > 0 || (await groupLag(kafka, names.group, names.topic))[0]?.lag === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: 'the forged record refused, or the partition caught up',
    });
    expect(sink.count(refused), 'the forged record was refused with SINK_BATCH_RECORD_INVALID').toBe(1);
    const logged = sink.entries.find(refused)!;
    expect(logged).toMatchObject({ topic: names.topic, partition: 0, committed: 100, recorded: { first: 100, last: 139, state: 'inserted' } });

    // Visible: failing, then stuck, in `floodgate status`, and in the metrics.
    const stuck = await waitFor(async () => (await actor())?.stuck, { timeoutMs: 60_000, intervalMs: 500, description: 'partition 0 stuck in floodgate status' });
    expect(stuck).toMatchObject({ code: 'SINK_BATCH_RECORD_INVALID', needsOperator: true, step: 'start' });
    const consuming = sink.entries.find((e) => e.msg === 'sink consuming') as { adminPort?: number } | undefined;
    const metrics = await (await fetch(`http://127.0.0.1:${consuming!.adminPort}/metrics`)).text();
    expect(metrics).toContain(`floodgate_sink_batch_records_refused_total{topic="${names.topic}"} 1`);
    expect(metrics).toContain(`floodgate_sink_partition_stuck{topic="${names.topic}",partition="0"} 1`);

    // Nothing skipped, nothing inserted, and the process is up (not crash-looping).
    const lag = await groupLag(kafka, names.group, names.topic);
    expect(lag[0]).toMatchObject({ committed: 100, lag: 50 });
    expect(await scalar(clickhouse, `SELECT count() FROM ${names.database}.events`)).toBe(100);
    expect(sink.running).toBe(true);

    // The operator's recovery: delete the partition's record (docs/security.md).
    const { code, stdout, stderr } = await runCli(['sink', 'forget-batch-record', '--partition', '0'], env);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(`deleted the batch record of ${names.topic}/0`);
    await waitForRows(clickhouse, names.database, 150);
    await waitForLagZero(kafka, names);
    expect(await exactlyOnce(clickhouse, names.database, produced)).toEqual({ rows: 150, distinct: 150, missing: 0, extra: 0 });
    await waitFor(async () => (await actor())?.stuck === undefined, { timeoutMs: 30_000, intervalMs: 500, description: 'partition 0 no longer stuck' });
    expect(sink.count(refused)).toBe(1);
  });

  it('a pending batch recorded past the committed offset (it would skip the 20 events before it) is refused the same way', async () => {
    const { kafka, clickhouse, probe } = bed;
    expect((await sink.stop()).code).toBe(0);
    // Committed 150; offsets 150..199 arrive; the forger records 170..189 as pending.
    produced.push(...(await send(150, 50)));
    const batches = await JsonBucket.open<BatchRecord>(probe.nc, sinkControlPlane(names.prefix).batchesBucket);
    const key = batchKey(names.group, names.topic, 0);
    const current = await batches.get(key);
    const forged = { first: 170, last: 189, firstTimestamp: String(base + 170), rows: 20, state: 'pending' as const, at: new Date().toISOString() };
    await batches.put(key, { ...current!.value, owner: 'forger/0/000001', batch: forged });

    sink = await bed.startSink(extra, 'ahead');
    await waitFor(async () => sink.count(refused) > 0 || (await groupLag(kafka, names.group, names.topic))[0]?.lag === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: 'the forged record refused, or the partition caught up',
    });
    expect(sink.count(refused), 'the forged record was refused with SINK_BATCH_RECORD_INVALID').toBe(1);
    expect(sink.entries.find(refused)).toMatchObject({ partition: 0, committed: 150, recorded: { first: 170, last: 189, state: 'pending' } });
    expect(String(sink.entries.find(refused)!.reason)).toContain('offsets 150..169 would be skipped');
    await waitFor(async () => (await actor())?.stuck?.code === 'SINK_BATCH_RECORD_INVALID', { timeoutMs: 60_000, intervalMs: 500, description: 'partition 0 stuck' });
    expect((await groupLag(kafka, names.group, names.topic))[0]).toMatchObject({ committed: 150, lag: 50 });
    expect(await scalar(clickhouse, `SELECT count() FROM ${names.database}.events`)).toBe(150);

    const { code, stderr } = await runCli(['sink', 'forget-batch-record', '--partition', '0'], env);
    expect(code, stderr).toBe(0);
    await waitForRows(clickhouse, names.database, 200);
    await waitForLagZero(kafka, names);
    expect(await exactlyOnce(clickhouse, names.database, produced)).toEqual({ rows: 200, distinct: 200, missing: 0, extra: 0 });
  });
});
