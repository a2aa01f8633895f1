import type { Kafka } from 'kafkajs';
import { FloodgateError } from '@floodgate/errors';

export interface TopicSpec {
  topic: string;
  partitions: number;
}

/**
 * Creates missing topics; existing ones are left alone (idempotent, safe on every start-up).
 * A topic that exists with fewer partitions than asked is grown, never shrunk.
 */
export async function ensureTopics(kafka: Kafka, specs: TopicSpec[], replicationFactor = 1): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({ topic: s.topic, numPartitions: s.partitions, replicationFactor })),
      });
    }
    const present = specs.filter((s) => existing.has(s.topic));
    if (present.length > 0) {
      const metadata = await admin.fetchTopicMetadata({ topics: present.map((s) => s.topic) });
      const grow = metadata.topics
        .map((t) => ({ topic: t.name, have: t.partitions.length, want: present.find((s) => s.topic === t.name)?.partitions ?? 0 }))
        .filter((t) => t.want > t.have);
      if (grow.length > 0) {
        await admin.createPartitions({ topicPartitions: grow.map((t) => ({ topic: t.topic, count: t.want })) });
      }
    }
  } catch (cause) {
    throw new FloodgateError('KAFKA_UNAVAILABLE', `cannot create topics ${specs.map((s) => s.topic).join(', ')}: ${(cause as Error).message}`, {
      cause,
      retriable: true,
    });
  } finally {
    await admin.disconnect();
  }
}
