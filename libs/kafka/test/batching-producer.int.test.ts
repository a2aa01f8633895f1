import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { createTopics, deleteTopics, stackConfigForTests, testKafka, uniqueName } from '@floodgate/testkit';
import { BatchingProducer } from '../src/batching-producer.ts';

/**
 * The producer merges the sends queued behind the request in flight into one produce request. The
 * broker refuses a record batch larger than its `message.max.bytes` (1 MiB by default) with
 * MESSAGE_TOO_LARGE, and the whole merged request fails: every client in it got a 503. Without
 * compression a merged request of many sends to one partition crossed that line under load (found
 * by websocket-hostile.int.test.ts once KAFKA_COMPRESSION defaulted to none).
 */
describe('BatchingProducer on the real broker', () => {
  const topic = uniqueName('batching_producer');
  let kafka: Kafka;

  beforeAll(async () => {
    kafka = testKafka(stackConfigForTests());
    await createTopics(kafka, [topic], 1);
  });

  afterAll(async () => {
    await deleteTopics(kafka, [topic]);
  });

  it('acknowledges 3 MiB of uncompressed sends queued at once to one partition, none refused as too large', async () => {
    const producer = new BatchingProducer(kafka, { topic, compression: 'none', sendTimeoutMs: 60_000 });
    await producer.connect();
    try {
      // 96 sends of 32 KiB each (one key, so one partition): all queue behind the first request.
      const value = Buffer.alloc(32 * 1024, 'x');
      const sends = Array.from({ length: 96 }, (_, i) => producer.send([{ key: 'one-key', value, headers: { n: String(i) } }]));
      const outcomes = await Promise.allSettled(sends);
      const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [String((o.reason as Error).message)] : []));
      expect(refused).toEqual([]);
    } finally {
      await producer.disconnect();
    }
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    try {
      const [offsets] = await kafkaAdmin.fetchTopicOffsets(topic);
      expect(Number(offsets!.high)).toBe(96);
    } finally {
      await kafkaAdmin.disconnect();
    }
  });
});
