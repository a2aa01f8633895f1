import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer, type RecordMetadata } from 'kafkajs';
import { FloodgateError, isFloodgateError } from '@floodgate/errors';
import { producerConfig } from './client.ts';

export interface BatchingProducerOptions {
  topic: string;
  /**
   * Upper bound of one merged produce request, in estimated record bytes (key, value, headers and
   * each record's framing). Default: under the broker's default `message.max.bytes` (1 MiB), so a
   * merged request is never refused as MESSAGE_TOO_LARGE even when all of it goes to one partition
   * uncompressed. A single send is never split; it goes alone when it is larger.
   */
  maxBatchBytes?: number;
  /** A send that has not been acknowledged by then fails (the client gets a 503, never a hang). */
  sendTimeoutMs?: number;
  /** Compression of produce requests; gzip saves network, costs CPU and latency. */
  compression?: 'none' | 'gzip';
}

/**
 * What a failed send says about its messages, for the client's retry (docs/client-retries.md):
 * `not_written` when they were never handed to Kafka, `unknown` when a produce request carrying them
 * went out and was not acknowledged (it may have been written, in part or whole, or may still be).
 */
export type SendOutcome = 'not_written' | 'unknown';

/** The `details` of a KAFKA_UNAVAILABLE error raised by the producer. */
export interface SendFailureDetails {
  outcome: SendOutcome;
}

/** The outcome a failed send reports; `unknown` for any error that does not say. */
export function sendOutcomeOf(error: unknown): SendOutcome {
  const details = isFloodgateError(error) ? (error.details as Partial<SendFailureDetails> | undefined) : undefined;
  return details?.outcome === 'not_written' ? 'not_written' : 'unknown';
}

function sendFailure(outcome: SendOutcome, message: string, topic: string, cause?: unknown): FloodgateError {
  return new FloodgateError('KAFKA_UNAVAILABLE', message, {
    cause,
    retriable: true,
    context: { topic },
    details: { outcome } satisfies SendFailureDetails,
  });
}

interface PendingSend {
  messages: Message[];
  bytes: number;
  resolve: (metadata: RecordMetadata[]) => void;
  reject: (error: unknown) => void;
}

/**
 * The partitions messages were assigned to that have no successful entry in the produce response.
 * kafkajs resolves a send without writing some of its messages when a partition's leader moves
 * during the send: its retry re-groups the messages by the new leaders but sends only to brokers
 * that have not answered yet, so messages whose new leader already answered (for its other
 * partitions) are never sent, and the send resolves as if they were written. Found by the chaos
 * suite (a broker frozen, then continued: fault 2); such a send must be a failure, never a 202.
 */
export function uncovered(partitions: Iterable<number>, metadata: RecordMetadata[], topic: string): number[] {
  const written = new Set(metadata.filter((m) => m.topicName === topic && m.errorCode === 0).map((m) => m.partition));
  return [...new Set(partitions)].filter((p) => !written.has(p)).sort((a, b) => a - b);
}

/**
 * An idempotent, acks=all producer that does the batching kafkajs lacks (it has no linger): while
 * one produce request is in flight, later sends queue up, and the next request carries all of
 * them. One request in flight keeps the idempotent producer's sequence numbers in order.
 *
 * A failed send retires the producer for good: every queued and later send fails at once
 * (`not_written`), and the owner makes a new one. The reason is kafkajs' sequence bookkeeping: when
 * a produce request fails in kafkajs (its own request timeout, a dropped connection, one partition's
 * error), it rolls the partitions' sequence numbers back, although the broker may have written the
 * batch (a stalled broker writes it when it resumes). The next batch on the same producer then
 * reuses those numbers, and the broker answers it with success as a duplicate without writing it:
 * an acknowledged event that is not in Kafka. Our own timeout does not stop kafkajs either, so after
 * it the state of the in-flight request is unknown. A new producer gets a new producer id, whose
 * sequence numbers nothing has used.
 */
/** The broker's default `message.max.bytes` is 1,048,588; this leaves room for the batch header. */
const DEFAULT_MAX_BATCH_BYTES = 960 * 1024;

/** A record's size in a record batch, estimated from above: its fields plus their varint framing. */
function recordBytes(m: Message): number {
  const length = (v: unknown) => (typeof v === 'string' ? Buffer.byteLength(v) : Buffer.isBuffer(v) ? v.length : 0);
  let bytes = 24 + length(m.key) + length(m.value);
  for (const [name, value] of Object.entries(m.headers ?? {})) bytes += 8 + Buffer.byteLength(name) + length(value);
  return bytes;
}

export class BatchingProducer {
  private readonly producer: Producer;
  private readonly topic: string;
  private readonly maxBatchBytes: number;
  private readonly sendTimeoutMs: number;
  private readonly compression: CompressionTypes;
  private queue: PendingSend[] = [];
  private inFlight = false;
  /** Set by the first failed send; the reason every later send fails. */
  private retiredBecause: Error | undefined;
  /** The kafkajs send of the current (or last) produce request, settled or not. */
  private lastSend: Promise<unknown> = Promise.resolve();
  private disconnecting: Promise<void> | undefined;
  /** Partitions the kafkajs send in flight assigned its messages to (one send at a time). */
  private sentPartitions = new Set<number>();

  constructor(kafka: Kafka, options: BatchingProducerOptions) {
    this.topic = options.topic;
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 10_000;
    this.compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    this.producer = kafka.producer({
      ...producerConfig({ idempotent: true }),
      // Wrapped to note every partition the request in flight writes to (see `uncovered`).
      createPartitioner: () => {
        const partition = Partitioners.DefaultPartitioner();
        return (args) => {
          const p = partition(args);
          this.sentPartitions.add(p);
          return p;
        };
      },
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  /** True once a send failed: this producer takes no more sends; make a new one. */
  get retired(): boolean {
    return this.retiredBecause !== undefined;
  }

  /**
   * Retires the producer and closes its connections once the request in flight (if any) settled in
   * kafkajs, which may be long after our timeout: until then kafkajs is still retrying it.
   */
  disconnect(): Promise<void> {
    this.retire(new FloodgateError('KAFKA_UNAVAILABLE', 'the producer was disconnected', { context: { topic: this.topic } }));
    this.disconnecting ??= this.lastSend.then(
      () => this.producer.disconnect(),
      () => this.producer.disconnect(),
    );
    return this.disconnecting;
  }

  /**
   * Resolves once Kafka acknowledged every message (acks=all), with the metadata of the produce
   * request that carried them (partitions and base offsets; it may carry other sends' messages too).
   * Rejects with KAFKA_UNAVAILABLE whose details say whether the messages may have been written.
   */
  send(messages: Message[]): Promise<RecordMetadata[]> {
    if (this.retiredBecause !== undefined) return Promise.reject(this.notSent(messages.length));
    let bytes = 0;
    for (const m of messages) bytes += recordBytes(m);
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      this.queue.push({ messages, bytes, resolve, reject });
      if (!this.inFlight) void this.flush();
    });
  }

  private notSent(count: number): FloodgateError {
    return sendFailure(
      'not_written',
      `Kafka is unavailable; ${count} events were not sent (an earlier send on this producer failed)`,
      this.topic,
      this.retiredBecause,
    );
  }

  /** Stops taking sends and fails the queued ones, which were never handed to kafkajs. */
  private retire(reason: Error): void {
    this.retiredBecause ??= reason;
    const queued = this.queue;
    this.queue = [];
    for (const p of queued) p.reject(this.notSent(p.messages.length));
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
        this.sentPartitions = new Set();
        const metadata = await this.sendWithTimeout(messages);
        const missing = uncovered(this.sentPartitions, metadata, this.topic);
        if (missing.length > 0) {
          throw new FloodgateError('KAFKA_UNAVAILABLE', `Kafka acknowledged the produce request without partition(s) ${missing.join(', ')} (kafkajs skipped them on a retry after a leader change)`, { retriable: true, context: { topic: this.topic } });
        }
        for (const p of batch) p.resolve(metadata);
      } catch (cause) {
        const reason = cause instanceof Error ? cause : new FloodgateError('KAFKA_UNAVAILABLE', String(cause), { cause, retriable: true });
        const error = sendFailure(
          'unknown',
          `Kafka did not acknowledge ${messages.length} events (they may still be written)`,
          this.topic,
          cause,
        );
        for (const p of batch) p.reject(error);
        this.retire(reason);
      }
    }
    this.inFlight = false;
  }

  private sendWithTimeout(messages: Message[]): Promise<RecordMetadata[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FloodgateError('KAFKA_UNAVAILABLE', `no acknowledgement within ${this.sendTimeoutMs} ms`, { retriable: true, context: { topic: this.topic } })), this.sendTimeoutMs);
    });
    const send = this.producer.send({
      topic: this.topic,
      messages,
      acks: -1,
      compression: this.compression,
    });
    this.lastSend = send;
    return Promise.race([send, timeout]).finally(() => clearTimeout(timer));
  }
}
