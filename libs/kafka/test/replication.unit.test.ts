import { describe, expect, it } from 'vitest';
import { Kafka } from 'kafkajs';
import { loadConfig, stackSchema, topicReplication } from '@floodgate/config';
import { ensureTopics } from '../src/topics.ts';

describe('topic replication settings', () => {
  it('default to replication factor 1 and min.insync.replicas 1 (the local single broker)', () => {
    expect(topicReplication(loadConfig(stackSchema, { env: {} }))).toEqual({ replicationFactor: 1, minInsyncReplicas: 1 });
  });

  it('read KAFKA_REPLICATION_FACTOR=3 and KAFKA_MIN_INSYNC_REPLICAS=2', () => {
    const config = loadConfig(stackSchema, { env: { KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' } });
    expect(topicReplication(config)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
  });

  it('reject 0 with CONFIG_INVALID naming the variable', () => {
    expect(() => loadConfig(stackSchema, { env: { KAFKA_REPLICATION_FACTOR: '0' } })).toThrow(/KAFKA_REPLICATION_FACTOR/);
  });

  it('ensureTopics refuses min.insync.replicas above the replication factor before touching Kafka', async () => {
    // An unreachable broker: the check must come first, so the error is CONFIG_INVALID, not KAFKA_UNAVAILABLE.
    const kafka = new Kafka({ brokers: ['127.0.0.1:1'], retry: { retries: 0 }, logLevel: 0 });
    await expect(ensureTopics(kafka, [{ topic: 't', partitions: 1 }], { replicationFactor: 1, minInsyncReplicas: 2 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});
