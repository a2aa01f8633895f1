import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer, type RecordMetadata } from 'kafkajs';
import { FloodgateError } from '@floodgate/errors';

export interface BatchingProducerOptions {
  topic: string;
  /** Upper bound of one produce request, in summed value bytes. */
  maxBatchBytes?: number;
  /** A send that has not been acknowledged by then fails (the client gets a 503, never a hang). */
  sendTimeoutMs?: number;
  /** Compression of produce requests; gzip saves network, costs CPU and latency. */
  compression?: 'none' | 'gzip';
}

interface PendingSend {
  messages: Message[];
  bytes: number;
  resolve: (metadata: RecordMetadata[]) => void;
  reject: (error: unknown) => void;
}

/**
 * An idempotent, acks=all producer that does the batching kafkajs lacks (it has no linger): while
 * one produce request is in flight, later sends queue up, and the next request carries all of
 * them. One request in flight keeps the idempotent producer's sequence numbers in order.
 */
export class BatchingProducer {
  private readonly producer: Producer;
  private readonly topic: string;
  private readonly maxBatchBytes: number;
  private readonly sendTimeoutMs: number;
  private readonly compression: CompressionTypes;
  private queue: PendingSend[] = [];
  private inFlight = false;

  constructor(kafka: Kafka, options: BatchingProducerOptions) {
    this.topic = options.topic;
    this.maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 10_000;
    this.compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // murmur2, as the Java client: the same key lands on the same partition from any producer.
      createPartitioner: Partitioners.DefaultPartitioner,
      // Bounded, so a dead broker turns into an error the gateway can answer with 503.
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }

  /**
   * Resolves once Kafka acknowledged every message (acks=all), with the metadata of the produce
   * request that carried them (partitions and base offsets; it may carry other sends' messages too).
   */
  send(messages: Message[]): Promise<RecordMetadata[]> {
    let bytes = 0;
    for (const m of messages) bytes += m.value ? (m.value as Buffer | string).length : 0;
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      this.queue.push({ messages, bytes, resolve, reject });
      if (!this.inFlight) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.inFlight = true;
    while (this.queue.length > 0) {
      const batch: PendingSend[] = [];
      let bytes = 0;
      while (this.queue.length > 0 && (batch.length === 0 || bytes + this.queue[0]!.bytes <= this.maxBatchBytes)) {
        const next = this.queue.shift()!;
        batch.push(next);
        bytes += next.bytes;
      }
      const messages = batch.length === 1 ? batch[0]!.messages : batch.flatMap((p) => p.messages);
      try {
        const metadata = await this.sendWithTimeout(messages);
        for (const p of batch) p.resolve(metadata);
      } catch (cause) {
        const error = new FloodgateError('KAFKA_UNAVAILABLE', `Kafka did not acknowledge ${messages.length} events: ${(cause as Error).message}`, {
          cause,
          retriable: true,
          context: { topic: this.topic },
        });
        for (const p of batch) p.reject(error);
      }
    }
    this.inFlight = false;
  }

  private sendWithTimeout(messages: Message[]): Promise<RecordMetadata[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no acknowledgement within ${this.sendTimeoutMs} ms`)), this.sendTimeoutMs);
    });
    const send = this.producer.send({
      topic: this.topic,
      messages,
      acks: -1,
      compression: this.compression,
    });
    return Promise.race([send, timeout]).finally(() => clearTimeout(timer));
  }
}
