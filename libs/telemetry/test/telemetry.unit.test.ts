import { describe, expect, it } from 'vitest';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SamplingDecision, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  TraceDecision,
  buildJourney,
  formatTraceparent,
  isSampledTraceparent,
  parseDuration,
  parseTraceparent,
  sampledContexts,
  type JourneySpanRow,
} from '@floodgate/telemetry';
import { HOPS } from '@floodgate/telemetry/attributes';
import { EdgeDecidedSampler, FORCE_SAMPLE, HeadSampler, hrTimeToDateTime64, telemetrySettings, toTraceRow } from '@floodgate/telemetry/sdk';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

describe('traceparent', () => {
  it('parses the W3C format and rejects what the spec rejects', () => {
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-01`)).toEqual({ traceId: TRACE, spanId: PARENT, sampled: true });
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-00`)).toEqual({ traceId: TRACE, spanId: PARENT, sampled: false });
    // A future version may append fields; version 00 may not.
    expect(parseTraceparent(`01-${TRACE}-${PARENT}-03-extra`)?.sampled).toBe(true);
    for (const bad of [
      '',
      `00-${TRACE}-${PARENT}-01-extra`,
      `ff-${TRACE}-${PARENT}-01`,
      `00-${'0'.repeat(32)}-${PARENT}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.toUpperCase()}-${PARENT}-01`,
      `00-${TRACE}-${PARENT}`,
    ]) {
      expect(parseTraceparent(bad), bad).toBeUndefined();
    }
  });

  it('reads the sampled flag from the last hex digit without parsing', () => {
    for (const [flags, sampled] of [['00', false], ['01', true], ['02', false], ['03', true], ['0a', false], ['0b', true], ['ff', true], ['fe', false]] as const) {
      expect(isSampledTraceparent(`00-${TRACE}-${PARENT}-${flags}`), flags).toBe(sampled);
    }
  });

  it('formats a span context and groups the sampled contexts of many events', () => {
    const header = formatTraceparent({ traceId: TRACE, spanId: PARENT, traceFlags: TraceFlags.SAMPLED });
    expect(header).toBe(`00-${TRACE}-${PARENT}-01`);
    const unsampled = `00-${TRACE}-${PARENT}-00`;
    const groups = sampledContexts([header, header, undefined, unsampled, 'junk', header]);
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ header, count: 3, context: { traceId: TRACE, spanId: PARENT, isRemote: true } });
  });
});

describe('head sampling at the edge', () => {
  const sampled = `00-${TRACE}-${PARENT}-01`;
  const unsampled = `00-${TRACE}-${PARENT}-00`;

  it('parentbased_traceidratio: a client sampled traceparent forces the trace, an unsampled one is passed on', () => {
    const head = new HeadSampler('parentbased_traceidratio', 0, true);
    expect(head.decide(sampled)).toBe(TraceDecision.SAMPLE);
    expect(head.decide(unsampled)).toBe(TraceDecision.PROPAGATE);
    expect(head.decide('')).toBe(TraceDecision.NONE);
    // A malformed header is ignored: the request is a root.
    expect(head.decide('garbage')).toBe(TraceDecision.NONE);
    expect(new HeadSampler('parentbased_traceidratio', 1, true).decide('')).toBe(TraceDecision.SAMPLE);
  });

  it('samples roots at about the configured ratio', () => {
    const head = new HeadSampler('parentbased_traceidratio', 0.1, true);
    let n = 0;
    for (let i = 0; i < 20_000; i++) if (head.decide('') === TraceDecision.SAMPLE) n++;
    expect(n).toBeGreaterThan(1600);
    expect(n).toBeLessThan(2400);
  });

  it('honours the non-parent-based samplers and never samples when nothing records', () => {
    expect(new HeadSampler('always_on', 0, true).decide(unsampled)).toBe(TraceDecision.SAMPLE);
    expect(new HeadSampler('always_off', 1, true).decide(sampled)).toBe(TraceDecision.PROPAGATE);
    expect(new HeadSampler('parentbased_always_off', 1, true).decide('')).toBe(TraceDecision.NONE);
    expect(new HeadSampler('parentbased_always_on', 1, false).decide(sampled)).toBe(TraceDecision.PROPAGATE);
    expect(new HeadSampler('always_on', 1, false).decide('')).toBe(TraceDecision.NONE);
  });

  it('the SDK sampler follows the edge decision and the parent', () => {
    const sampler = new EdgeDecidedSampler('parentbased_traceidratio', 0);
    const decide = (context: typeof ROOT_CONTEXT) => sampler.shouldSample(context, TRACE, 'x', SpanKind.SERVER, {}, []).decision;
    expect(decide(ROOT_CONTEXT)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(ROOT_CONTEXT.setValue(FORCE_SAMPLE, true))).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    const remote = (flags: number) => trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE, spanId: PARENT, traceFlags: flags, isRemote: true });
    expect(decide(remote(TraceFlags.SAMPLED))).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(remote(TraceFlags.NONE))).toBe(SamplingDecision.NOT_RECORD);
  });
});

describe('telemetry settings from OTEL_* variables', () => {
  it('defaults: ClickHouse span store, parent-based ratio 0.001', () => {
    expect(telemetrySettings({})).toMatchObject({
      disabled: false,
      exporters: ['clickhouse'],
      sampler: 'parentbased_traceidratio',
      ratio: 0.001,
      otlpProtocol: 'http/protobuf',
      exportDelayMs: 1000,
      linkLimit: 10_000,
    });
  });

  it('adds OTLP when an endpoint is set, and follows OTEL_TRACES_EXPORTER when given', () => {
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).exporters).toEqual(['clickhouse', 'otlp']);
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }).exporters).toEqual(['clickhouse', 'otlp']);
    expect(telemetrySettings({ OTEL_TRACES_EXPORTER: 'otlp' }).exporters).toEqual(['otlp']);
    expect(telemetrySettings({ OTEL_TRACES_EXPORTER: 'none' }).exporters).toEqual([]);
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: '0.5' })).toMatchObject({
      otlpProtocol: 'http/json',
      sampler: 'always_on',
      ratio: 0.5,
    });
  });

  it('names the bad variable', () => {
    expect(() => telemetrySettings({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    expect(() => telemetrySettings({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(() => telemetrySettings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported/);
    expect(() => telemetrySettings({ OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow(/OTEL_TRACES_EXPORTER/);
  });
});

describe('the ClickHouse span row', () => {
  it('has the collector exporter layout: ns timestamps, kind and status strings, string maps, flattened links', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'floodgate-test', 'service.namespace': 'floodgate' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('floodgate', '0.1.0');
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE, spanId: PARENT, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    const span = tracer.startSpan(
      'INSERT events',
      {
        kind: SpanKind.CLIENT,
        startTime: [1_795_000_000, 123_456_789],
        attributes: { 'db.operation.batch.size': 3, ok: true, ids: ['a', 'b'] },
        links: [{ context: { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 }, attributes: { 'messaging.kafka.offset': 7 } }],
      },
      parent,
    );
    span.addEvent('retry', { attempt: 2 }, [1_795_000_000, 200_000_000]);
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    span.end([1_795_000_000, 623_456_789]);
    const row = toTraceRow(exporter.getFinishedSpans()[0]!);
    expect(row).toMatchObject({
      Timestamp: '2026-11-18 11:06:40.123456789',
      TraceId: TRACE,
      ParentSpanId: PARENT,
      SpanName: 'INSERT events',
      SpanKind: 'SPAN_KIND_CLIENT',
      ServiceName: 'floodgate-test',
      ScopeName: 'floodgate',
      ScopeVersion: '0.1.0',
      SpanAttributes: { 'db.operation.batch.size': '3', ok: 'true', ids: '["a","b"]' },
      Duration: 500_000_000,
      StatusCode: 'STATUS_CODE_ERROR',
      StatusMessage: 'boom',
      'Events.Name': ['retry'],
      'Events.Timestamp': ['2026-11-18 11:06:40.200000000'],
      'Events.Attributes': [{ attempt: '2' }],
      'Links.TraceId': ['a'.repeat(32)],
      'Links.SpanId': ['b'.repeat(16)],
      'Links.TraceState': [''],
      'Links.Attributes': [{ 'messaging.kafka.offset': '7' }],
    });
    expect(row.ResourceAttributes).toMatchObject({ 'service.name': 'floodgate-test', 'service.namespace': 'floodgate' });
    expect(hrTimeToDateTime64([0, 5])).toBe('1970-01-01 00:00:00.000000005');
  });
});

describe('journey assembly', () => {
  const ms = 1_000_000n;
  const t0 = 1_795_000_000_000n * ms;
  const row = (over: Partial<JourneySpanRow> & Pick<JourneySpanRow, 'SpanId' | 'SpanName'>, hop: string, startMs: number, durMs: number): JourneySpanRow => ({
    TraceId: TRACE,
    ParentSpanId: '',
    SpanKind: 'SPAN_KIND_INTERNAL',
    ServiceName: 'svc',
    StartNs: String(t0 + BigInt(startMs) * ms),
    DurationNs: String(BigInt(durMs) * ms),
    StatusCode: 'STATUS_CODE_UNSET',
    StatusMessage: '',
    SpanAttributes: { 'floodgate.hop': hop },
    LinkSpanIds: [],
    LinkAttributes: [],
    LinkCount: 0,
    ...over,
  });

  it('orders hops as a tree in time, attaches linked batch spans of other traces, and measures end to end', () => {
    const rows: JourneySpanRow[] = [
      row({ SpanId: 'insert', SpanName: 'INSERT events', ParentSpanId: 'consume', ServiceName: 'sink', TraceId: 'other', LinkSpanIds: ['send'], LinkAttributes: [{ 'messaging.message.id': 'e1', 'messaging.kafka.offset': '41' }], LinkCount: 2, SpanAttributes: { 'floodgate.hop': HOPS.clickhouseInsert, 'db.operation.batch.size': '2' } }, HOPS.clickhouseInsert, 300, 20),
      row({ SpanId: 'gw', SpanName: 'POST /v1/events', ParentSpanId: 'client-span', ServiceName: 'gateway', SpanKind: 'SPAN_KIND_SERVER' }, HOPS.gatewayRequest, 0, 40),
      row({ SpanId: 'send', SpanName: 'send events', ParentSpanId: 'batch', ServiceName: 'worker', SpanKind: 'SPAN_KIND_PRODUCER' }, HOPS.kafkaProduce, 12, 25),
      row({ SpanId: 'batch', SpanName: 'ingest batch', ParentSpanId: 'gw', ServiceName: 'worker' }, HOPS.ingestBatch, 10, 28),
      // A sink batch of another trace that started collecting before this event arrived.
      row({ SpanId: 'consume', SpanName: 'process events', ParentSpanId: 'their-send', TraceId: 'other', ServiceName: 'sink', LinkSpanIds: ['send'], LinkCount: 2 }, HOPS.sinkConsume, -50, 380),
    ];
    const journey = buildJourney(TRACE, rows)!;
    expect(journey.hops.map((h) => [h.spanId, h.depth, h.linked])).toEqual([
      ['gw', 0, false],
      ['batch', 1, false],
      ['send', 2, false],
      ['consume', 3, true],
      ['insert', 4, true],
    ]);
    expect(journey.hops[3]!.startOffsetMs).toBe(-50);
    expect(journey.totalMs).toBe(330);
    expect(journey.complete).toBe(true);
    expect(journey.services).toEqual(['gateway', 'worker', 'sink']);
    expect(buildJourney(TRACE, rows, { id: 'e1', tenant: 't', type: 'x', partition: 3, offset: '41', receivedAt: '', insertedAt: '', endToEndMs: 300 })!.hops[4]!.summary).toBe(
      'events: batch of 2 row(s), this event at offset 41',
    );
  });

  it('is undefined without spans', () => {
    expect(buildJourney(TRACE, [])).toBeUndefined();
  });
});

describe('durations', () => {
  it('parses 90s, 10m, 2h, 1d and plain seconds', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('10m')).toBe(600);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('1d')).toBe(86400);
    expect(parseDuration('45')).toBe(45);
    expect(parseDuration('ten')).toBeUndefined();
  });
});
