import { describe, expect, it } from 'vitest';
import type { Kafka, Message, ProducerRecord, RecordMetadata } from 'kafkajs';
import { isFloodgateError } from '@floodgate/errors';
import { BatchingProducer, sendOutcomeOf } from '@floodgate/kafka';

/**
 * The producer's bookkeeping with kafkajs' producer replaced by one whose sends the test settles by
 * hand. What a real broker does when a sequence number is reused is in
 * apps/ingest-worker/test/kafka-stall.int.test.ts.
 */
function fakeKafka() {
  const sends: { record: ProducerRecord; resolve: (m: RecordMetadata[]) => void; reject: (e: Error) => void }[] = [];
  let disconnects = 0;
  const producer = {
    connect: async () => {},
    disconnect: async () => {
      disconnects++;
    },
    send: (record: ProducerRecord) =>
      new Promise<RecordMetadata[]>((resolve, reject) => {
        sends.push({ record, resolve, reject });
      }),
  };
  const kafka = { producer: () => producer } as unknown as Kafka;
  return { kafka, sends, disconnects: () => disconnects };
}

const msg = (value: string): Message => ({ key: 'k', value });
const settle = () => new Promise((r) => setImmediate(r));

async function failureOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isFloodgateError(error)).toBe(true);
  return { code: (error as { code: string }).code, outcome: sendOutcomeOf(error) };
}

describe('BatchingProducer', () => {
  it('carries sends queued during a request in the next one', async () => {
    const { kafka, sends } = fakeKafka();
    const producer = new BatchingProducer(kafka, { topic: 't', sendTimeoutMs: 10_000 });
    const first = producer.send([msg('a')]);
    const second = producer.send([msg('b')]);
    const third = producer.send([msg('c')]);
    expect(sends).toHaveLength(1);
    sends[0]!.resolve([]);
    await first;
    await settle();
    expect(sends).toHaveLength(2);
    expect(sends[1]!.record.messages.map((m) => m.value)).toEqual(['b', 'c']);
    sends[1]!.resolve([]);
    await Promise.all([second, third]);
  });

  it('after a send times out, never hands kafkajs another batch: queued and later sends fail as not written', async () => {
    const { kafka, sends, disconnects } = fakeKafka();
    const producer = new BatchingProducer(kafka, { topic: 't', sendTimeoutMs: 50 });
    const inFlight = producer.send([msg('a')]);
    const queued = producer.send([msg('b')]);
    expect(await failureOf(inFlight)).toEqual({ code: 'KAFKA_UNAVAILABLE', outcome: 'unknown' });
    expect(await failureOf(queued)).toEqual({ code: 'KAFKA_UNAVAILABLE', outcome: 'not_written' });
    expect(producer.retired).toBe(true);
    expect(await failureOf(producer.send([msg('c')]))).toEqual({ code: 'KAFKA_UNAVAILABLE', outcome: 'not_written' });
    expect(sends.map((s) => s.record.messages.map((m) => m.value))).toEqual([['a']]);

    // kafkajs is still working on 'a': the connection closes only once it settled.
    const disconnected = producer.disconnect();
    await settle();
    expect(disconnects()).toBe(0);
    sends[0]!.reject(new Error('Request Produce(key: 0, version: 7) timed out'));
    await disconnected;
    expect(disconnects()).toBe(1);
  });

  it('after kafkajs fails a send, fails the queued ones as not written', async () => {
    const { kafka, sends } = fakeKafka();
    const producer = new BatchingProducer(kafka, { topic: 't', sendTimeoutMs: 10_000 });
    const inFlight = producer.send([msg('a')]);
    const queued = producer.send([msg('b')]);
    sends[0]!.reject(new Error('This server is not the leader for that topic-partition'));
    expect(await failureOf(inFlight)).toEqual({ code: 'KAFKA_UNAVAILABLE', outcome: 'unknown' });
    expect(await failureOf(queued)).toEqual({ code: 'KAFKA_UNAVAILABLE', outcome: 'not_written' });
    expect(sends).toHaveLength(1);
  });
});

describe('BatchingProducer: a send kafkajs resolves without writing some partitions', () => {
  /**
   * A kafkajs stand-in that partitions the messages with the producer's own partitioner (as
   * kafkajs does on every attempt) and answers with what the test says the brokers answered.
   */
  function partitioningKafka() {
    let partitioner: ((args: { topic: string; partitionMetadata: { partitionId: number; leader: number }[]; message: Message }) => number) | undefined;
    const sends: { partitions: number[]; resolve: (m: RecordMetadata[]) => void }[] = [];
    const producer = {
      connect: async () => {},
      disconnect: async () => {},
      send: (record: ProducerRecord) =>
        new Promise<RecordMetadata[]>((resolve) => {
          const partitionMetadata = Array.from({ length: 6 }, (_, i) => ({ partitionId: i, leader: 1 + (i % 3) }));
          const partitions = record.messages.map((message) => partitioner!({ topic: record.topic, partitionMetadata, message }));
          sends.push({ partitions: [...new Set(partitions)].sort(), resolve });
        }),
    };
    const kafka = {
      producer: (options: { createPartitioner: () => typeof partitioner }) => {
        partitioner = options.createPartitioner();
        return producer;
      },
    } as unknown as Kafka;
    return { kafka, sends };
  }

  const written = (topic: string, partitions: number[]): RecordMetadata[] =>
    partitions.map((partition) => ({ topicName: topic, partition, errorCode: 0, baseOffset: '0' }) as RecordMetadata);

  it('fails (outcome unknown) and retires the producer when the answer lacks a partition its messages went to (kafkajs, leader moved during the send)', async () => {
    const { kafka, sends } = partitioningKafka();
    const producer = new BatchingProducer(kafka, { topic: 't', sendTimeoutMs: 10_000 });
    const messages = Array.from({ length: 20 }, (_, i) => ({ key: `tenant/${i}`, value: String(i) }));
    const sent = producer.send(messages);
    await settle();
    const partitions = sends[0]!.partitions;
    expect(partitions.length).toBeGreaterThan(2);
    // The broker that took over the last partition had already answered for its others.
    sends[0]!.resolve(written('t', partitions.slice(0, -1)));
    expect(await failureOf(sent)).toEqual({ code: 'KAFKA_UNAVAILABLE', outcome: 'unknown' });
    expect(producer.retired).toBe(true);
  });

  it('acknowledges a send whose answer covers every partition its messages went to', async () => {
    const { kafka, sends } = partitioningKafka();
    const producer = new BatchingProducer(kafka, { topic: 't', sendTimeoutMs: 10_000 });
    const sent = producer.send(Array.from({ length: 20 }, (_, i) => ({ key: `tenant/${i}`, value: String(i) })));
    await settle();
    sends[0]!.resolve(written('t', sends[0]!.partitions));
    expect((await sent).length).toBe(sends[0]!.partitions.length);
    expect(producer.retired).toBe(false);
  });

  it('a partition answered with an error code does not count as written', async () => {
    const { kafka, sends } = partitioningKafka();
    const producer = new BatchingProducer(kafka, { topic: 't', sendTimeoutMs: 10_000 });
    const sent = producer.send(Array.from({ length: 20 }, (_, i) => ({ key: `tenant/${i}`, value: String(i) })));
    await settle();
    const metadata = written('t', sends[0]!.partitions);
    metadata[0] = { ...metadata[0]!, errorCode: 6 };
    sends[0]!.resolve(metadata);
    expect(await failureOf(sent)).toEqual({ code: 'KAFKA_UNAVAILABLE', outcome: 'unknown' });
  });
});
