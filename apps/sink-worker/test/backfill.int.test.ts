import { describe, expect, it } from 'vitest';
import { exactlyOnce, groupLag, newEvent, scalar, toMessage, useSinkTestBed, waitFor } from '@floodgate/testkit';

/**
 * Issue 9, defect 2: a legitimate backfill whose one batch spans more month partitions than
 * ClickHouse takes in one INSERT block (`max_partitions_per_insert_block`, 100) was answered with
 * code 252 on every attempt and retried forever, and the partition never drained.
 */
describe('sink: a backfill spanning 101 months in one batch', () => {
  const bed = useSinkTestBed('backfill');
  const { names } = bed;

  it('lands the 101 backfilled events and the events after them exactly once, and the partition drains', async () => {
    const { kafka, clickhouse, producer } = bed;
    // One subject, so one key and one partition; a `time` on the first of 101 consecutive months.
    const backfill = Array.from({ length: 101 }, (_, i) => newEvent(i, { subject: 'meter-7', time: new Date(Date.UTC(2015, i, 1)).toISOString() }));
    const later = Array.from({ length: 200 }, (_, i) => newEvent(1000 + i, { subject: 'meter-7' }));
    // All on the topic before the sink starts: it reads them in one fetch and cuts one batch of 301.
    await producer.sendRaw([...backfill, ...later].map(toMessage));
    const sink = await bed.startSink();

    // The other partitions hold nothing (never committed); the backfill's one must be committed through.
    await waitFor(async () => (await groupLag(kafka, names.group, names.topic)).every((p) => p.lag === 0 && (p.end === 0 || p.committed === p.end)), {
      timeoutMs: 60_000,
      intervalMs: 500,
      description: 'every event of the topic committed',
    });
    const ids = [...backfill, ...later].map((e) => e.id);
    expect(await exactlyOnce(clickhouse, names.database, ids)).toEqual({ rows: 301, distinct: 301, missing: 0, extra: 0 });
    expect(await scalar(clickhouse, `SELECT uniqExact(toYYYYMM(time)) FROM ${names.database}.events WHERE time < '2024-01-01'`)).toBe(101);
    expect(await scalar(clickhouse, `SELECT uniqExact(kafka_partition) FROM ${names.database}.events`)).toBe(1);
    // It landed by splitting the block, not by dead-lettering anything.
    expect(sink.count((e) => e.msg === 'insert block spans too many partitions; splitting it')).toBeGreaterThan(0);
    expect(sink.count((e) => e.msg === 'events dead-lettered')).toBe(0);
  });
});
