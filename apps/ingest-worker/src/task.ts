import type { BodyFormat, EventLimits } from '@floodgate/event-model';

/** What a request is, one byte per request in a task. */
export const REQUEST_KINDS = ['json', 'ndjson', 'cloudevents', 'cloudevents-batch', 'ws'] as const;
export type RequestKind = BodyFormat | 'ws';
export const KIND_CODE: Readonly<Record<RequestKind, number>> = Object.freeze({
  json: 0,
  ndjson: 1,
  cloudevents: 2,
  'cloudevents-batch': 3,
  ws: 4,
});

export const CONTENT_ENCODINGS = ['identity', 'gzip', 'deflate'] as const;
export type ContentEncoding = (typeof CONTENT_ENCODINGS)[number];

/**
 * The contract between a gateway process and its ingest workers. Request bodies of one
 * micro-batch travel in a single transferred ArrayBuffer (no per-request copies), cut by offsets.
 */
export interface IngestTask {
  /** All request bodies, back to back. Transferred, not copied. */
  bodies: ArrayBuffer;
  /** Request i's body is bodies[offsets[i], offsets[i+1]). Length = requests + 1. */
  offsets: Uint32Array;
  tenants: string[];
  receivedAtMs: Float64Array;
  /** Index into REQUEST_KINDS. */
  kinds: Uint8Array;
  /** Index into CONTENT_ENCODINGS. */
  encodings: Uint8Array;
  /**
   * Request i's W3C traceparent ('' for none): the gateway's server span for a sampled request,
   * or a client's unsampled header passed on. Absent (the usual case) when no request of the
   * micro-batch has one, so an untraced batch carries nothing extra.
   */
  traceparents?: string[];
}

/** One reply per request of the task, in order. */
export interface IngestReply {
  /** HTTP status (for a WebSocket message: the status its ack/nack corresponds to). */
  status: number;
  /** The JSON to send: the HTTP body, or the WebSocket ack/nack message. */
  body: string;
  accepted: number;
  /** Error code when rejected, for metrics. */
  code?: string;
}

/** What a whole task reports besides the replies. */
export interface IngestResult {
  replies: IngestReply[];
  /** Duration of the Kafka send, when there was one. */
  kafkaMs?: number;
  /** The metrics contract's counts for this micro-batch (component="ingest"; docs/metrics.md). */
  counts?: IngestCounts;
}

/** Events of one micro-batch: parsed, acknowledged by Kafka, not acknowledged, refused (by code). */
export interface IngestCounts {
  received: number;
  sent: number;
  errored: number;
  /** Refused requests by code; a request whose body could not be parsed counts as one event. */
  dropped: Record<string, number>;
  /** Set when the Kafka send failed: its code. */
  produceFailure?: string;
}

export interface IngestWorkerData {
  kafkaBrokers: string[];
  topic: string;
  sendTimeoutMs: number;
  compression: 'none' | 'gzip';
  limits: EventLimits;
  /** Cap on a decompressed body: a decompression bomb stops here. */
  maxDecompressedBytes: number;
  /** Set when the gateway traces: each thread sets up its own OpenTelemetry SDK (docs/tracing.md). */
  telemetry?: IngestTelemetrySettings;
}

export interface IngestTelemetrySettings {
  /** The ClickHouse span store. */
  spanStore: { url: string; username: string; password: string; database: string };
  /** BroadcastChannel on which the gateway asks its threads to export their spans before it stops them. */
  flushChannel: string;
}
