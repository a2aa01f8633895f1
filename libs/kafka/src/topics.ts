import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, ITopicMetadata, Kafka } from 'kafkajs';
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
      // False (not an error) when another process created them between the list and here. Not
      // kafkajs' own wait for leaders: it asks one broker, gives up on the first "unknown topic"
      // answer of a broker that has not heard of the topic yet, and is skipped when the topic
      // already existed; waitForLeaders below covers every case.
      await kafkaAdmin.createTopics({
        waitForLeaders: false,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions,
          replicationFactor,
          configEntries: [{ name: 'min.insync.replicas', value: String(minInsyncReplicas) }],
        })),
      });
    }
    // Whoever created them, every partition must have a leader before anyone produces or consumes:
    // on a cluster, a topic another process has just created is listed before every broker knows
    // it (its metadata answers UNKNOWN_TOPIC_OR_PARTITION for a moment).
    const metadata = await waitForLeaders(kafkaAdmin, specs.map((s) => s.topic));
    const grow = metadata
      .map((t) => ({ topic: t.name, have: t.partitions.length, want: specs.find((s) => s.topic === t.name)?.partitions ?? 0 }))
      .filter((t) => t.want > t.have);
    if (grow.length > 0) await growPartitions(kafkaAdmin, grow);
  } catch (cause) {
    throw new FloodgateError('KAFKA_UNAVAILABLE', `cannot create topics ${specs.map((s) => s.topic).join(', ')}: ${(cause as Error).message}`, {
      cause,
      retriable: true,
    });
  } finally {
    await kafkaAdmin.disconnect();
  }
}

/** How long a topic may take to have a leader for every partition after it was created. */
const LEADERS_TIMEOUT_MS = 30_000;

async function waitForLeaders(kafkaAdmin: Admin, topics: string[]): Promise<ITopicMetadata[]> {
  const deadline = Date.now() + LEADERS_TIMEOUT_MS;
  for (;;) {
    let lastProblem: unknown;
    try {
      const { topics: metadata } = await kafkaAdmin.fetchTopicMetadata({ topics });
      const leaderless = metadata.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0));
      if (leaderless.length === 0) return metadata;
      lastProblem = `no leader yet for a partition of ${leaderless.map((t) => t.name).join(', ')}`;
    } catch (error) {
      lastProblem = error;
    }
    if (Date.now() > deadline) {
      const reason = lastProblem instanceof Error ? lastProblem.message : String(lastProblem);
      throw new FloodgateError('KAFKA_UNAVAILABLE', `topics ${topics.join(', ')} have no leader for every partition after ${LEADERS_TIMEOUT_MS / 1000} s: ${reason}`, {
        cause: lastProblem,
        retriable: true,
      });
    }
    await sleep(200);
  }
}

/** Grows topics to the partitions asked; another process growing them at the same time is fine. */
async function growPartitions(kafkaAdmin: Admin, grow: { topic: string; want: number }[]): Promise<void> {
  try {
    await kafkaAdmin.createPartitions({ topicPartitions: grow.map((t) => ({ topic: t.topic, count: t.want })) });
  } catch (error) {
    const { topics } = await kafkaAdmin.fetchTopicMetadata({ topics: grow.map((t) => t.topic) });
    const short = grow.filter((g) => (topics.find((t) => t.name === g.topic)?.partitions.length ?? 0) < g.want);
    if (short.length > 0) throw error;
  }
}
