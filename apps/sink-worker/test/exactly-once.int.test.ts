import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { createClickHouse, migrate } from '@floodgate/clickhouse';
import { clickhouseUrl } from '@floodgate/config';
import { JsonBucket } from '@floodgate/nats';
import { batchKey, sinkControlPlane } from '@floodgate/sink-protocol';
import { dedupToken, type BatchRecord } from '../src/batch-state.ts';
import { createInsert } from '../src/clickhouse.ts';
import { encodeRow, insertBody } from '../src/rows.ts';
import {
  createTopics,
  deleteTopics,
  exactlyOnce,
  newEvent,
  toMessage,
  useSinkTestBed,
  waitFor,
  waitForLagZero,
  waitForRows,
  type AppProcess,
} from '@floodgate/testkit';

/**
 * The recovery paths of the exactly-once mechanism, made to happen on purpose: a previous owner
 * that crashed after inserting a batch but before committing it (the next owner re-forms the
 * recorded batch and ClickHouse drops the repeat), a replay (group offsets reset to 0), and a topic
 * deleted and re-created under the same name while NATS still holds the old batch record (beyond
 * the end of the new log, and inside it).
 */
describe('sink: exactly once across a crash after insert, a replay, and a re-created topic', () => {
  const bed = useSinkTestBed('eo', { partitions: 1 });
  const { stack, names } = bed;
  const env = { KAFKA_PARTITIONS: '1' };
  let sink: AppProcess | undefined;
  const produced: string[] = [];

  it('re-forms a batch a crashed owner inserted but did not commit, and ClickHouse drops the repeat', async () => {
    const { kafka, clickhouse, probe, producer } = bed;
    // 300 events at offsets 0..299, with known timestamps.
    const base = Date.now() - 60_000;
    const events = Array.from({ length: 300 }, (_, i) => newEvent(i));
    await producer.sendRaw(events.map((e, i) => ({ ...toMessage(e), timestamp: String(base + i) })));
    produced.push(...events.map((e) => e.id));

    // The crashed owner: wrote the boundary [0, 199], inserted it with its token, died before the commit.
    const admin = createClickHouse({ url: clickhouseUrl(stack), username: stack.CLICKHOUSE_USER, password: stack.CLICKHOUSE_PASSWORD, database: 'default' });
    await migrate(admin, names.database);
    const rows = events.slice(0, 200).map((e, i) => {
      const message = { key: null, value: Buffer.from(JSON.stringify(e)), offset: String(i), timestamp: String(base + i), headers: {}, attributes: 0, size: 0 } as unknown as KafkaMessage;
      const encoded = encodeRow(message, 0);
      if (!encoded.ok) throw new Error(encoded.reason);
      return encoded.row;
    });
    const boundary = { first: 0, last: 199, firstTimestamp: String(base), rows: 200 };
    await createInsert(admin, `${names.database}.events`)(insertBody(rows), dedupToken(names.topic, 0, boundary), new AbortController().signal);
    await admin.close();
    const batches = await JsonBucket.open<BatchRecord>(probe.nc, sinkControlPlane(names.prefix).batchesBucket);
    await batches.put(batchKey(names.group, names.topic, 0), {
      v: 1,
      owner: 'crashed-process/0/000000',
      claimedAt: new Date().toISOString(),
      batch: { ...boundary, state: 'pending', at: new Date().toISOString() },
    });

    sink = await bed.startSink(env, 'first');
    await waitForRows(clickhouse, names.database, 300);
    await waitForLagZero(kafka, names);
    expect(sink.count((e) => e.msg === 're-forming the recorded batch')).toBe(1);
    expect(await exactlyOnce(clickhouse, names.database, produced)).toEqual({ rows: 300, distinct: 300, missing: 0, extra: 0 });
    const record = await batches.get(batchKey(names.group, names.topic, 0));
    expect(record?.value.batch).toMatchObject({ state: 'inserted', last: 299 });
  });

  it('a replay (group offsets reset to 0) adds no duplicate', async () => {
    const { kafka, clickhouse, producer } = bed;
    expect((await sink!.stop()).code).toBe(0);
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId: names.group, topic: names.topic, partitions: [{ partition: 0, offset: '0' }] });
    await admin.disconnect();
    const more = await producer.send(100);
    produced.push(...more.map((e) => e.id));

    sink = await bed.startSink(env, 'replay');
    await waitForRows(clickhouse, names.database, 400);
    await waitForLagZero(kafka, names);
    expect(sink.count((e) => e.msg === 'recorded batch was inserted; committing past it')).toBe(1);
    // Give a wrong re-insert time to show up before counting.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await exactlyOnce(clickhouse, names.database, produced)).toEqual({ rows: 400, distinct: 400, missing: 0, extra: 0 });
  });

  it('a topic deleted and re-created under the same name is read from its start, not skipped', async () => {
    const { kafka, clickhouse, producer } = bed;
    expect((await sink!.stop()).code).toBe(0);
    await deleteTopics(kafka, [names.topic]);
    await waitFor(
      async () => {
        await createTopics(kafka, [names.topic], 1);
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 500, description: `${names.topic} re-created` },
    );
    const fresh = await producer.send(50);
    produced.push(...fresh.map((e) => e.id));

    sink = await bed.startSink(env, 'recreated');
    await waitForRows(clickhouse, names.database, 450);
    await waitForLagZero(kafka, names);
    expect(await exactlyOnce(clickhouse, names.database, produced)).toEqual({ rows: 450, distinct: 450, missing: 0, extra: 0 });
  });

  it('a re-created topic longer than its old batch record (offsets 200-299) is read from offset 0, not from the record', async () => {
    const { kafka, clickhouse, probe, producer } = bed;
    expect((await sink!.stop()).code).toBe(0);
    await deleteTopics(kafka, [names.topic]);
    await waitFor(
      async () => {
        await createTopics(kafka, [names.topic], 1);
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 500, description: `${names.topic} re-created` },
    );
    // The old log's last batch, still in NATS: offsets 200..299, its first message an hour old.
    const batches = await JsonBucket.open<BatchRecord>(probe.nc, sinkControlPlane(names.prefix).batchesBucket);
    await batches.put(batchKey(names.group, names.topic, 0), {
      v: 1,
      owner: 'old-log-process/0/000000',
      claimedAt: new Date().toISOString(),
      batch: { first: 200, last: 299, firstTimestamp: String(Date.now() - 3_600_000), rows: 100, state: 'pending', at: new Date().toISOString() },
    });
    const fresh = await producer.send(400);
    produced.push(...fresh.map((e) => e.id));

    sink = await bed.startSink(env, 'recreated-longer');
    await waitForRows(clickhouse, names.database, 850);
    await waitForLagZero(kafka, names);
    expect(sink.count((e) => e.msg === 'the recorded batch belongs to an older log (topic re-created?); ignoring it')).toBe(1);
    expect(await exactlyOnce(clickhouse, names.database, produced)).toEqual({ rows: 850, distinct: 850, missing: 0, extra: 0 });
  });
});
