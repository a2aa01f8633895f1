/**
 * Spans of a micro-batch in the ingest worker, through @opentelemetry/api only. A task carries, per
 * request, the traceparent the gateway passed on ('' when none). Nothing here runs unless at least
 * one request of the task is sampled: an untraced task costs one `undefined` check.
 *
 * One span for the whole micro-batch and one for its Kafka send, not one per request: both are
 * children of the first sampled request's context and link to every sampled request, so each
 * request's journey finds them (by parent or by link).
 */
import { threadId } from 'node:worker_threads';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Link, type Span, type SpanContext } from '@opentelemetry/api';
import type { Message, RecordMetadata } from 'kafkajs';
import { formatTraceparent, isSampledTraceparent, spanContextOf } from '@floodgate/telemetry';
import {
  ATTR_BATCH_BYTES,
  ATTR_BATCH_EVENTS,
  ATTR_BATCH_REJECTED,
  ATTR_BATCH_REQUESTS,
  ATTR_BATCH_SAMPLED,
  ATTR_ERROR_TYPE,
  ATTR_HOP,
  ATTR_KAFKA_BASE_OFFSETS,
  ATTR_KAFKA_PARTITIONS,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_CLIENT_ID,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_BODY_SIZE,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_THREAD_ID,
  HOPS,
  MESSAGING_SYSTEM_KAFKA,
} from '@floodgate/telemetry/attributes';

const tracer = trace.getTracer('floodgate');

interface SampledRequest {
  index: number;
  context: SpanContext;
  /** Messages of this request: [first, end). */
  first: number;
  end: number;
}

export class BatchTrace {
  private readonly span: Span;
  private produce: Span | undefined;
  private readonly traceId: string;

  private constructor(
    private readonly sampled: SampledRequest[],
    requests: number,
    bytes: number,
  ) {
    const parent = sampled[0]!.context;
    this.traceId = parent.traceId;
    this.span = tracer.startSpan(
      'ingest batch',
      {
        kind: SpanKind.INTERNAL,
        links: links(sampled),
        attributes: {
          [ATTR_HOP]: HOPS.ingestBatch,
          [ATTR_BATCH_REQUESTS]: requests,
          [ATTR_BATCH_BYTES]: bytes,
          [ATTR_BATCH_SAMPLED]: sampled.length,
          [ATTR_THREAD_ID]: threadId,
        },
      },
      trace.setSpanContext(ROOT_CONTEXT, parent),
    );
  }

  /** A trace for the task when any of its requests is sampled, else undefined (the usual case). */
  static start(traceparents: readonly string[] | undefined, bytes: number): BatchTrace | undefined {
    if (traceparents === undefined) return undefined;
    let sampled: SampledRequest[] | undefined;
    for (let i = 0; i < traceparents.length; i++) {
      const header = traceparents[i];
      if (!header || !isSampledTraceparent(header)) continue;
      const context = spanContextOf(header);
      if (context) (sampled ??= []).push({ index: i, context, first: 0, end: 0 });
    }
    return sampled ? new BatchTrace(sampled, traceparents.length, bytes) : undefined;
  }

  /** Notes which messages request `index` produced (called for every accepted request). */
  messages(index: number, first: number, end: number): void {
    for (const s of this.sampled) {
      if (s.index === index) {
        s.first = first;
        s.end = end;
        return;
      }
    }
  }

  /**
   * Starts the Kafka send span and points the traceparent header of each sampled message at the
   * span that produced it in its own trace: this send for the batch's trace, the request's own
   * gateway span for requests of other traces.
   */
  startSend(topic: string, messages: Message[], rejected: number): void {
    let bytes = 0;
    for (const m of messages) bytes += typeof m.value === 'string' ? Buffer.byteLength(m.value) : (m.value?.length ?? 0);
    this.span.setAttributes({ [ATTR_BATCH_EVENTS]: messages.length, [ATTR_BATCH_REJECTED]: rejected });
    this.produce = tracer.startSpan(
      `send ${topic}`,
      {
        kind: SpanKind.PRODUCER,
        links: links(this.sampled),
        attributes: {
          [ATTR_HOP]: HOPS.kafkaProduce,
          [ATTR_MESSAGING_SYSTEM]: MESSAGING_SYSTEM_KAFKA,
          [ATTR_MESSAGING_OPERATION_TYPE]: 'send',
          [ATTR_MESSAGING_OPERATION_NAME]: 'send',
          [ATTR_MESSAGING_DESTINATION_NAME]: topic,
          [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: messages.length,
          [ATTR_MESSAGING_MESSAGE_BODY_SIZE]: bytes,
          [ATTR_MESSAGING_CLIENT_ID]: 'floodgate-ingest',
          [ATTR_THREAD_ID]: threadId,
        },
      },
      trace.setSpan(ROOT_CONTEXT, this.span),
    );
    const own = formatTraceparent(this.produce.spanContext());
    for (const s of this.sampled) {
      const header = s.context.traceId === this.traceId ? own : formatTraceparent(s.context);
      for (let m = s.first; m < s.end; m++) {
        const message = messages[m];
        if (message) (message.headers ??= {}).traceparent = header;
      }
    }
  }

  /** Ends both spans; `failure` is the error code the requests were answered with. */
  end(metadata: RecordMetadata[] | undefined, failure: string | undefined, error?: unknown): void {
    if (this.produce) {
      if (metadata && metadata.length > 0) {
        this.produce.setAttributes({
          [ATTR_KAFKA_PARTITIONS]: metadata.map((m) => m.partition),
          [ATTR_KAFKA_BASE_OFFSETS]: metadata.map((m) => String(m.baseOffset ?? m.offset ?? '')),
        });
      }
      if (failure) fail(this.produce, failure, error);
      this.produce.end();
    }
    if (failure) fail(this.span, failure, error);
    this.span.end();
  }
}

function links(sampled: SampledRequest[]): Link[] {
  return sampled.map((s) => ({ context: s.context, attributes: { 'floodgate.request.index': s.index } }));
}

function fail(span: Span, code: string, error: unknown): void {
  span.setAttribute(ATTR_ERROR_TYPE, code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : code });
}
