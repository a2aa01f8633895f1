import { beforeAll, describe, expect, it } from 'vitest';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { exactlyOnce, newEvent, scalar, toMessage, uniqueName, useSinkTestBed, waitFor, waitForLagZero, waitForRows } from '@floodgate/testkit';
import { DLQ_HEADERS } from '../src/dead-letter.ts';

/** Reads every message of a topic from the beginning, for `ms` after the last one arrived. */
async function readTopic(kafka: Kafka, topic: string, expected: number, timeoutMs = 20_000): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('it_dlq_reader'), sessionTimeout: 6000 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      messages.push(message);
    },
  });
  try {
    await waitFor(() => messages.length >= expected, { timeoutMs, intervalMs: 200, description: `${expected} messages on ${topic}` });
    await new Promise((r) => setTimeout(r, 1000)); // anything more would show up now
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString();

describe('sink: poison events go to the dead-letter topic, the rest lands', () => {
  const bed = useSinkTestBed('poison');
  const { names } = bed;
  beforeAll(async () => {
    await bed.startSink();
  });

  it('one poison event among 1,000 valid ones: the 1,000 land, the poison one is dead-lettered with its reason', async () => {
    const { kafka, clickhouse, producer } = bed;
    const valid = Array.from({ length: 1000 }, (_, i) => newEvent(i));
    // Valid JSON, valid for the gateway's eye, but ClickHouse cannot read its time.
    const poison = newEvent(-1, { time: 'the day after tomorrow' });
    const messages = valid.map(toMessage);
    messages.splice(517, 0, toMessage(poison));
    await producer.sendRaw(messages);

    await waitForRows(clickhouse, names.database, 1000);
    await waitForLagZero(kafka, names);
    expect(await exactlyOnce(clickhouse, names.database, valid.map((e) => e.id))).toEqual({ rows: 1000, distinct: 1000, missing: 0, extra: 0 });

    const letters = await readTopic(kafka, names.dlqTopic, 1);
    expect(letters).toHaveLength(1);
    const letter = letters[0]!;
    expect(letter.value?.toString()).toBe(JSON.stringify(poison));
    expect(letter.key?.toString()).toBe(`default/${poison.id}`);
    expect(header(letter, 'event-id')).toBe(poison.id);
    expect(header(letter, DLQ_HEADERS.code)).toBe('41 CANNOT_PARSE_DATETIME');
    expect(header(letter, DLQ_HEADERS.reason)).toMatch(/Cannot read DateTime/);
    expect(header(letter, DLQ_HEADERS.source)).toMatch(new RegExp(`^${names.topic}/\\d/\\d+$`));
  });

  it('an unreadable value and an event without id are dead-lettered too', async () => {
    const { kafka, clickhouse, probe, producer } = bed;
    const noId = { ...newEvent(1), id: '' };
    const good = newEvent(2);
    await producer.sendRaw([
      { key: 'default/x', value: 'this is not JSON' },
      { key: 'default/y', value: JSON.stringify(noId) },
      toMessage(good),
    ]);
    await waitForRows(clickhouse, names.database, 1001);
    await waitForLagZero(kafka, names);
    const letters = await readTopic(kafka, names.dlqTopic, 3);
    const codes = Object.fromEntries(letters.map((m) => [m.value?.toString(), header(m, DLQ_HEADERS.code)]));
    expect(codes['this is not JSON']).toBe('EVENT_UNREADABLE');
    expect(codes[JSON.stringify(noId)]).toBe('469 VIOLATED_CONSTRAINT');
    expect(await scalar(clickhouse, `SELECT count() FROM ${names.database}.events WHERE id = {id:String}`, { id: good.id })).toBe(1);
    const view = await probe.members();
    expect(view.processes[0]!.deadLettered).toBe(3);
  });
});

describe('sink: a client that sends the same event id twice gets one row in query results', () => {
  const bed = useSinkTestBed('retry');
  const { names } = bed;
  beforeAll(async () => {
    await bed.startSink();
  });

  it('collapses the retry, even when it got a new receive time, in separate batches and across a month boundary', async () => {
    const { kafka, clickhouse, producer } = bed;
    // The original and its retry, as the ingest worker writes them: same id (the client's), the
    // retry received later, so without a client time it also got a later `time`.
    const original = newEvent(1, { id: 'client-order-42', type: 'order', time: '2026-01-31T23:59:59.900Z', received_at: '2026-01-31T23:59:59.900Z' });
    const retry = { ...original, time: '2026-02-01T00:00:01.200Z', received_at: '2026-02-01T00:00:01.200Z' };
    const withTime = newEvent(2, { id: 'client-order-43', type: 'order' });
    const others = Array.from({ length: 200 }, (_, i) => newEvent(10 + i));
    await producer.sendRaw([toMessage(original), toMessage(withTime), ...others.map(toMessage)]);
    await waitForRows(clickhouse, names.database, 202);
    await producer.sendRaw([toMessage(retry), toMessage(withTime)]);
    await waitForLagZero(kafka, names);
    await waitForRows(clickhouse, names.database, 204);

    const db = names.database;
    // Query results: FINAL, the `final` setting, or the events_unique view.
    expect(await scalar(clickhouse, `SELECT count() FROM ${db}.events FINAL WHERE id = 'client-order-42'`)).toBe(1);
    expect(await scalar(clickhouse, `SELECT count() FROM ${db}.events WHERE id = 'client-order-43' SETTINGS final = 1`)).toBe(1);
    expect(await scalar(clickhouse, `SELECT count() FROM ${db}.events_unique WHERE type = 'order'`)).toBe(2);
    expect(await scalar(clickhouse, `SELECT count() FROM ${db}.events_unique`)).toBe(202);
    expect(await scalar(clickhouse, `SELECT uniqExact(id) FROM ${db}.events`)).toBe(202);
  });
});
