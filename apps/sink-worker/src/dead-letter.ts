import type { IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { CompressionTypes, Partitioners } from 'kafkajs';

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
 * Idempotent, acks=all; the sink commits past a dead letter only after Kafka acknowledged it.
 * A crash between the two can send the same dead letter twice: dead-letter consumers deduplicate
 * on the source header.
 */
export class DeadLetterProducer {
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    private readonly sourceTopic: string,
    private readonly dlqTopic: string,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      // An idempotent producer must not give up on its own (kafkajs warns otherwise); the partition
      // actor's stop signal and the shutdown bound end a send that cannot succeed.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5000 },
    });
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
