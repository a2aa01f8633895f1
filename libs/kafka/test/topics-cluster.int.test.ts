import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from '@floodgate/kafka';
import { startPrivateKafka, testNames, type PrivateKafka } from '@floodgate/testkit';

/**
 * Gateway, sink supervisor and sink processes all create the pipeline's topics at start-up, at the
 * same moment under `floodgate start`. On a three-broker cluster a topic another process has just
 * created is listed before every broker knows it, and reading its metadata then failed with "This
 * server does not host this topic-partition": the sink supervisor exited and `floodgate start`
 * with it (found by `npm run test:chaos`; this test failed 4 of 30 calls before the fix).
 */
describe('ensureTopics on a cluster of three brokers', () => {
  let cluster: PrivateKafka;
  const clients: Kafka[] = [];

  beforeAll(async () => {
    cluster = await startPrivateKafka('topics-cluster', undefined, { brokers: 3 });
    for (let i = 0; i < 3; i++) clients.push(new Kafka({ brokers: cluster.brokers.split(','), clientId: `it-topics-${i}`, logLevel: logLevel.NOTHING }));
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  it('succeeds for three processes creating the same topics at once, every time, and leaves them replicated and led', async () => {
    const rounds = 10;
    const failures: string[] = [];
    const created: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const topic = `${testNames('topics').topic}_${round}`;
      const specs = [
        { topic, partitions: 6 },
        { topic: `${topic}.dlq`, partitions: 6 },
      ];
      const results = await Promise.allSettled(clients.map((kafka) => ensureTopics(kafka, specs, { replicationFactor: 3, minInsyncReplicas: 2 })));
      for (const r of results) if (r.status === 'rejected') failures.push(`round ${round}: ${(r.reason as Error).message}`);
      created.push(topic, `${topic}.dlq`);
    }
    expect(failures).toEqual([]);

    const admin = clients[0]!.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: created });
      for (const t of topics) {
        expect(t.partitions).toHaveLength(6);
        for (const p of t.partitions) {
          expect(p.leader).toBeGreaterThanOrEqual(0);
          expect(p.replicas).toHaveLength(3);
        }
      }
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: created[0]!, configNames: ['min.insync.replicas'] }],
      });
      expect(configs.resources[0]!.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue).toBe('2');
    } finally {
      await admin.disconnect();
    }

    // Usable at once by the process that did not create them: an acks=all write to every partition.
    const producer = clients[2]!.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const last = created[created.length - 2]!;
      const metadata = await producer.send({ topic: last, acks: -1, messages: Array.from({ length: 6 }, (_, partition) => ({ partition, value: 'x' })) });
      expect(metadata.map((m) => m.partition).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await producer.disconnect();
    }
  });
});
