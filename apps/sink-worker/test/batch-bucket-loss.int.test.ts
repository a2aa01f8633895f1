import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { createClickHouse } from '@floodgate/clickhouse';
import { clickhouseUrl } from '@floodgate/config';
import { destroyBucket, JsonBucket } from '@floodgate/nats';
import { batchKey, sinkControlPlane } from '@floodgate/sink-protocol';
import type { BatchRecord } from '../src/batch-state.ts';
import { createInsert } from '../src/clickhouse.ts';
import { encodeRow, insertBody } from '../src/rows.ts';
import { exactlyOnce, newEvent, toMessage, useSinkTestBed, waitForLagZero, waitForRows } from '@floodgate/testkit';

const env = { KAFKA_PARTITIONS: '1' };

/*
 * The JetStream KV bucket holding the batch records deleted (or lost with NATS's storage): under a
 * running sink, which must re-create it and go on, and between two owners of a partition, when the
 * lost record was the only trace of a batch that was inserted but not committed.
 */

describe('sink: the batch bucket deleted under a running sink', () => {
  const bed = useSinkTestBed('bucketlive', { partitions: 1 });
  const { names } = bed;
  const bucketName = sinkControlPlane(names.prefix).batchesBucket;

  it('a batch bucket deleted under a running sink is re-created and the partition goes on, exactly once', async () => {
    const { kafka, clickhouse, probe, producer } = bed;
    const sink = await bed.startSink(env, 'running');
    await producer.send(200);
    await waitForRows(clickhouse, names.database, 200);
    await waitForLagZero(kafka, names);

    await destroyBucket(probe.nc, bucketName);
    await producer.send(200);
    await waitForRows(clickhouse, names.database, 400, 90_000);
    await waitForLagZero(kafka, names);
    expect(await exactlyOnce(clickhouse, names.database, producer.ids)).toEqual({ rows: 400, distinct: 400, missing: 0, extra: 0 });
    expect(sink.count((e) => e.msg === 'the batch bucket was missing (deleted or lost); re-created it')).toBeGreaterThanOrEqual(1);
    const batches = await JsonBucket.open<BatchRecord>(probe.nc, bucketName, { existing: true });
    expect((await batches.get(batchKey(names.group, names.topic, 0)))?.value.batch).toMatchObject({ state: 'inserted', last: 399 });
    expect((await sink.stop()).code).toBe(0);
  });
});

describe('sink: the batch record lost between two owners of a partition', () => {
  const bed = useSinkTestBed('bucketlost', { partitions: 1 });
  const { stack, names } = bed;
  const bucketName = sinkControlPlane(names.prefix).batchesBucket;
  const produced: string[] = [];

  it('rows a previous owner inserted but did not commit before the record was lost are not inserted again', async () => {
    const { kafka, clickhouse, probe, producer } = bed;
    // A first owner lands offsets 0..399 and commits them.
    const first = await bed.startSink(env, 'first-owner');
    produced.push(...(await producer.send(400)).map((e) => e.id));
    await waitForRows(clickhouse, names.database, 400);
    await waitForLagZero(kafka, names);
    expect((await first.stop()).code).toBe(0);

    // 300 events at offsets 400..699. A previous owner recorded and inserted 400..549, then the
    // bucket was lost before it committed: the committed offset is still 400.
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    const [end] = await kafkaAdmin.fetchTopicOffsets(names.topic);
    await kafkaAdmin.disconnect();
    expect(end?.high).toBe('400');
    const base = Date.now() - 60_000;
    const events = Array.from({ length: 300 }, (_, i) => newEvent(1000 + i));
    await producer.sendRaw(events.map((e, i) => ({ ...toMessage(e), timestamp: String(base + i) })));
    produced.push(...events.map((e) => e.id));
    const admin = createClickHouse({ url: clickhouseUrl(stack), username: stack.CLICKHOUSE_USER, password: stack.CLICKHOUSE_PASSWORD, database: 'default' });
    const rows = events.slice(0, 150).map((e, i) => {
      const message = { key: null, value: Buffer.from(JSON.stringify(e)), offset: String(400 + i), timestamp: String(base + i), headers: {}, attributes: 0, size: 0 } as unknown as KafkaMessage;
      const encoded = encodeRow(message, 0);
      if (!encoded.ok) throw new Error(encoded.reason);
      return encoded.row;
    });
    await createInsert(admin, `${names.database}.events`)(insertBody(rows), `${names.topic}:0:400-549:${base}`, new AbortController().signal);
    await admin.close();
    await destroyBucket(probe.nc, bucketName);

    const sink = await bed.startSink(env, 'after-loss');
    await waitForLagZero(kafka, names);
    await waitForRows(clickhouse, names.database, 700);
    // Give a wrong re-insert time to show up before counting.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await exactlyOnce(clickhouse, names.database, produced)).toEqual({ rows: 700, distinct: 700, missing: 0, extra: 0 });
    expect(sink.count((e) => e.msg === 'batch record lost: skipping the rows of this partition that are in the table already')).toBe(1);
  });
});
