import type { Kafka } from 'kafkajs';
import { FloodgateError } from '@floodgate/errors';

export interface TopicSpec {
  topic: string;
  partitions: number;
}

/**
 * The pipeline's topics, created by whichever of gateway, sink and sink supervisor starts first:
 * the events topic and its dead-letter topic, with the same partitions (a dead letter keeps its
 * event's partition).
 */
export function pipelineTopics(config: { KAFKA_TOPIC: string; KAFKA_DLQ_TOPIC: string; KAFKA_PARTITIONS: number }): TopicSpec[] {
  return [
    { topic: config.KAFKA_TOPIC, partitions: config.KAFKA_PARTITIONS },
    { topic: config.KAFKA_DLQ_TOPIC, partitions: config.KAFKA_PARTITIONS },
  ];
}

export interface TopicReplication {
  /** Copies of each partition; default 1 (the local single broker). */
  replicationFactor?: number;
  /** `min.insync.replicas` of new topics; default 1. At most replicationFactor. */
  minInsyncReplicas?: number;
}

/**
 * Creates missing topics with the given replication; existing ones are left alone (idempotent,
 * safe on every start-up; changing an existing topic's replication is an operator's reassignment).
 * A topic that exists with fewer partitions than asked is grown, never shrunk.
 */
export async function ensureTopics(kafka: Kafka, specs: TopicSpec[], replication: TopicReplication = {}): Promise<void> {
  const replicationFactor = replication.replicationFactor ?? 1;
  const minInsyncReplicas = replication.minInsyncReplicas ?? 1;
  if (minInsyncReplicas > replicationFactor) {
    // A topic like this accepts no acks=all write at all: refuse it before creating it.
    throw new FloodgateError(
      'CONFIG_INVALID',
      `KAFKA_MIN_INSYNC_REPLICAS (${minInsyncReplicas}) must not exceed KAFKA_REPLICATION_FACTOR (${replicationFactor})`,
    );
  }
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  try {
    const existing = new Set(await kafkaAdmin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) {
      await kafkaAdmin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions,
          replicationFactor,
          configEntries: [{ name: 'min.insync.replicas', value: String(minInsyncReplicas) }],
        })),
      });
    }
    const present = specs.filter((s) => existing.has(s.topic));
    if (present.length > 0) {
      const metadata = await kafkaAdmin.fetchTopicMetadata({ topics: present.map((s) => s.topic) });
      const grow = metadata.topics
        .map((t) => ({ topic: t.name, have: t.partitions.length, want: present.find((s) => s.topic === t.name)?.partitions ?? 0 }))
        .filter((t) => t.want > t.have);
      if (grow.length > 0) {
        await kafkaAdmin.createPartitions({ topicPartitions: grow.map((t) => ({ topic: t.topic, count: t.want })) });
      }
    }
  } catch (cause) {
    throw new FloodgateError('KAFKA_UNAVAILABLE', `cannot create topics ${specs.map((s) => s.topic).join(', ')}: ${(cause as Error).message}`, {
      cause,
      retriable: true,
    });
  } finally {
    await kafkaAdmin.disconnect();
  }
}
