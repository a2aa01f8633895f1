import type { IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { CompressionTypes } from 'kafkajs';
import { producerConfig } from '@floodgate/kafka';

export interface DeadLetter {
  message: KafkaMessage;
  partition: number;
  /** A stable code: `EVENT_UNREADABLE`, or ClickHouse's `<number> <NAME>`. */
  code: string;
  reason: string;
}

/** Headers a dead letter carries besides the original ones. */
export const DLQ_HEADERS = {
  reason: 'floodgate-dlq-reason',
  code: 'floodgate-dlq-code',
  source: 'floodgate-dlq-source',
  at: 'floodgate-dlq-at',
} as const;

/**
 * Sends events ClickHouse will never accept to the dead-letter topic: the original key, value and
 * headers, plus the reason, its code and where the event came from (`topic/partition/offset`).
 * acks=all; the sink commits past a dead letter only after Kafka acknowledged it. The dead-letter
 * topic is at-least-once: a crash between the send and the commit, or a send retried after its
 * answer was lost, can deliver the same dead letter twice; consumers deduplicate on the source
 * header.
 *
 * One `send` gives up after a bounded number of retries (kafkajs' own, a few seconds) instead of
 * retrying without end inside the client, where nothing could see or stop it: the partition actor
 * retries it with backoff, shows the failure (`SINK_DLQ_UNAVAILABLE`, stuck after the bound) and
 * abandons it when it is told to stop. So the producer is not idempotent: kafkajs requires endless
 * retries for that, and the dead-letter topic is at-least-once anyway.
 */
export class DeadLetterProducer {
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    private readonly sourceTopic: string,
    private readonly dlqTopic: string,
  ) {
    this.producer = kafka.producer(producerConfig({ idempotent: false }));
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const at = new Date().toISOString();
    await this.producer.send({
      topic: this.dlqTopic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: letters.map((l) => {
        const headers: IHeaders = { ...(l.message.headers ?? {}) };
        headers[DLQ_HEADERS.reason] = l.reason.slice(0, 4000);
        headers[DLQ_HEADERS.code] = l.code;
        headers[DLQ_HEADERS.source] = `${this.sourceTopic}/${l.partition}/${l.message.offset}`;
        headers[DLQ_HEADERS.at] = at;
        return { key: l.message.key, value: l.message.value, headers };
      }),
    });
  }
}

/** Kafka error types (kafkajs `type`) saying the dead-letter topic is not there or not ours to write. */
const NEEDS_OPERATOR_TYPES = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'INVALID_TOPIC_EXCEPTION']);

/**
 * Whether a failed dead-letter send will not pass by itself: the topic was deleted (or never
 * created, `allowAutoTopicCreation` is off) or the sink may not write it. Looks through kafkajs'
 * retry wrappers (`originalError`, `cause`).
 */
export function deadLetterNeedsOperator(error: unknown): boolean {
  for (let e = error as { type?: unknown; name?: unknown; originalError?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.type === 'string' && NEEDS_OPERATOR_TYPES.has(e.type)) return true;
    if (e.name === 'KafkaJSTopicMetadataNotLoaded') return true;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return false;
}
