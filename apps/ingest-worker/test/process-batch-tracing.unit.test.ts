import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SpanKind, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Message } from 'kafkajs';
import { DEFAULT_EVENT_LIMITS } from '@floodgate/event-model';
import { HOPS } from '@floodgate/telemetry/attributes';
import { CONTENT_ENCODINGS, KIND_CODE, processBatch, type IngestTask } from '@floodgate/ingest-worker';

const settings = { limits: DEFAULT_EVENT_LIMITS, maxDecompressedBytes: 64 * 1024, topic: 'events' };
const TRACE_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const TRACE_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const TRACE_C = 'cccccccccccccccccccccccccccccccc';

function taskOf(bodies: string[], traceparents?: string[]): IngestTask {
  const encoded = bodies.map((b) => new TextEncoder().encode(b));
  const buffer = new ArrayBuffer(encoded.reduce((n, b) => n + b.length, 0));
  const offsets = new Uint32Array(encoded.length + 1);
  let at = 0;
  encoded.forEach((b, i) => {
    offsets[i] = at;
    new Uint8Array(buffer).set(b, at);
    at += b.length;
  });
  offsets[encoded.length] = at;
  const task: IngestTask = {
    bodies: buffer,
    offsets,
    tenants: encoded.map(() => 't'),
    receivedAtMs: new Float64Array(encoded.map(() => Date.now())),
    kinds: new Uint8Array(encoded.map(() => KIND_CODE.json)),
    encodings: new Uint8Array(encoded.map(() => CONTENT_ENCODINGS.indexOf('identity'))),
  };
  if (traceparents) task.traceparents = traceparents;
  return task;
}

describe('processBatch tracing: one span per micro-batch and per Kafka send, context in the headers', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  beforeAll(() => trace.setGlobalTracerProvider(provider));
  afterAll(() => trace.disable());
  beforeEach(() => exporter.reset());

  it('creates no span and no header for a task without trace context', async () => {
    const sent: Message[] = [];
    await processBatch(taskOf(['{"type":"a"}', '{"type":"b"}']), settings, async (m) => void sent.push(...m));
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    expect(sent.every((m) => m.headers?.traceparent === undefined)).toBe(true);
  });

  it('passes an unsampled client context on unchanged, without spans', async () => {
    const sent: Message[] = [];
    const client = `00-${TRACE_C}-00f067aa0ba902b7-00`;
    await processBatch(taskOf(['{"type":"a"}'], [client]), settings, async (m) => void sent.push(...m));
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    expect(sent[0]!.headers!.traceparent).toBe(client);
  });

  it('traces a batch with sampled requests: parented on the first, linked to all, each message pointing at its trace', async () => {
    const sent: Message[] = [];
    const a = `00-${TRACE_A}-1111111111111111-01`;
    const b = `00-${TRACE_B}-2222222222222222-01`;
    const unsampled = `00-${TRACE_C}-3333333333333333-00`;
    const { replies } = await processBatch(
      taskOf(['[{"type":"a1"},{"type":"a2"}]', '{"type":"plain"}', '{"type":"b"}', '{"type":"c"}', '{broken'], [a, '', b, unsampled, '']),
      settings,
      async (m) => {
        sent.push(...m);
        return [{ topicName: 'events', partition: 3, errorCode: 0, baseOffset: '120' }];
      },
    );
    expect(replies.map((r) => r.status)).toEqual([202, 202, 202, 202, 400]);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name).sort()).toEqual(['ingest batch', 'send events']);
    const batch = spans.find((s) => s.name === 'ingest batch')!;
    const send = spans.find((s) => s.name === 'send events')!;
    expect(batch.spanContext().traceId).toBe(TRACE_A);
    expect(batch.parentSpanContext?.spanId).toBe('1111111111111111');
    expect(batch.links.map((l) => l.context.traceId)).toEqual([TRACE_A, TRACE_B]);
    expect(batch.attributes).toMatchObject({ 'floodgate.hop': HOPS.ingestBatch, 'floodgate.batch.requests': 5, 'floodgate.batch.events': 5, 'floodgate.batch.rejected_requests': 1 });
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.parentSpanContext?.spanId).toBe(batch.spanContext().spanId);
    expect(send.attributes).toMatchObject({
      'floodgate.hop': HOPS.kafkaProduce,
      'messaging.system': 'kafka',
      'messaging.destination.name': 'events',
      'messaging.batch.message_count': 5,
      'floodgate.kafka.partitions': [3],
      'floodgate.kafka.base_offsets': ['120'],
    });
    const own = `00-${TRACE_A}-${send.spanContext().spanId}-01`;
    expect(sent.map((m) => m.headers?.traceparent)).toEqual([own, own, undefined, b, unsampled]);
  });

  it('marks both spans failed when Kafka does not acknowledge', async () => {
    await processBatch(taskOf(['{"type":"a"}'], [`00-${TRACE_A}-1111111111111111-01`]), settings, async () => {
      throw new Error('broker down');
    });
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      expect(span.status.code).toBe(2);
      expect(span.attributes['error.type']).toBe('KAFKA_UNAVAILABLE');
    }
  });
});
