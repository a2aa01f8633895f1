import { SpanKind, SpanStatusCode, type AttributeValue, type Attributes, type HrTime } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '@floodgate/logging';
import { FloodgateError } from '@floodgate/errors';

/** The span store table: the OpenTelemetry Collector ClickHouse exporter's traces table (migration 30). */
export const TRACES_TABLE = 'otel_traces';

/** One row of otel_traces, as JSONEachRow (Nested columns flattened, the way the collector writes them). */
export interface TraceRow {
  Timestamp: string;
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  TraceState: string;
  SpanName: string;
  SpanKind: string;
  ServiceName: string;
  ResourceAttributes: Record<string, string>;
  ScopeName: string;
  ScopeVersion: string;
  SpanAttributes: Record<string, string>;
  Duration: number;
  StatusCode: string;
  StatusMessage: string;
  'Events.Timestamp': string[];
  'Events.Name': string[];
  'Events.Attributes': Record<string, string>[];
  'Links.TraceId': string[];
  'Links.SpanId': string[];
  'Links.TraceState': string[];
  'Links.Attributes': Record<string, string>[];
}

// The collector's strings for kinds and status codes (its traceutil.SpanKindStr / StatusCodeStr).
const KIND: Record<SpanKind, string> = {
  [SpanKind.INTERNAL]: 'SPAN_KIND_INTERNAL',
  [SpanKind.SERVER]: 'SPAN_KIND_SERVER',
  [SpanKind.CLIENT]: 'SPAN_KIND_CLIENT',
  [SpanKind.PRODUCER]: 'SPAN_KIND_PRODUCER',
  [SpanKind.CONSUMER]: 'SPAN_KIND_CONSUMER',
};
const STATUS: Record<SpanStatusCode, string> = {
  [SpanStatusCode.UNSET]: 'STATUS_CODE_UNSET',
  [SpanStatusCode.OK]: 'STATUS_CODE_OK',
  [SpanStatusCode.ERROR]: 'STATUS_CODE_ERROR',
};

/** `YYYY-MM-DD hh:mm:ss.nnnnnnnnn` in UTC: what a DateTime64(9) column parses exactly. */
export function hrTimeToDateTime64(time: HrTime): string {
  const [seconds, nanos] = time;
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(nanos).padStart(9, '0')}`;
}

function hrTimeToNanos(time: HrTime): number {
  return time[0] * 1e9 + time[1];
}

/** Attribute values as the collector stores them: strings as they are, the rest as JSON. */
function stringValue(value: AttributeValue | undefined): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function stringMap(attributes: Attributes | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!attributes) return out;
  for (const key of Object.keys(attributes)) out[key] = stringValue(attributes[key]);
  return out;
}

export function toTraceRow(span: ReadableSpan): TraceRow {
  const ctx = span.spanContext();
  const resource = stringMap(span.resource.attributes);
  return {
    Timestamp: hrTimeToDateTime64(span.startTime),
    TraceId: ctx.traceId,
    SpanId: ctx.spanId,
    ParentSpanId: span.parentSpanContext?.spanId ?? '',
    TraceState: ctx.traceState?.serialize() ?? '',
    SpanName: span.name,
    SpanKind: KIND[span.kind] ?? 'SPAN_KIND_UNSPECIFIED',
    ServiceName: resource['service.name'] ?? '',
    ResourceAttributes: resource,
    ScopeName: span.instrumentationScope.name,
    ScopeVersion: span.instrumentationScope.version ?? '',
    SpanAttributes: stringMap(span.attributes),
    Duration: Math.max(0, hrTimeToNanos(span.duration)),
    StatusCode: STATUS[span.status.code] ?? 'STATUS_CODE_UNSET',
    StatusMessage: span.status.message ?? '',
    'Events.Timestamp': span.events.map((e) => hrTimeToDateTime64(e.time)),
    'Events.Name': span.events.map((e) => e.name),
    'Events.Attributes': span.events.map((e) => stringMap(e.attributes)),
    'Links.TraceId': span.links.map((l) => l.context.traceId),
    'Links.SpanId': span.links.map((l) => l.context.spanId),
    'Links.TraceState': span.links.map((l) => l.context.traceState?.serialize() ?? ''),
    'Links.Attributes': span.links.map((l) => stringMap(l.attributes)),
  };
}

export interface ClickHouseSpanExporterOptions {
  client: ClickHouseClient;
  database: string;
  /** Creates the tables when they are missing (the trace migrations); called once, and again after an "unknown table". */
  ensureSchema: () => Promise<unknown>;
  logger?: Logger;
}

const UNKNOWN_TABLE = /UNKNOWN_TABLE|UNKNOWN_DATABASE|Code: (60|81)\./;

/**
 * Writes each batch the BatchSpanProcessor hands over as one JSONEachRow insert. Its own requests
 * are never traced (its client has no tracer). A failed batch is dropped and reported (spans are diagnostics: they must not
 * pile up or slow the pipeline when ClickHouse is away), at most one warning every 30 s.
 */
export class ClickHouseSpanExporter implements SpanExporter {
  private schema: Promise<unknown> | undefined;
  private inFlight = new Set<Promise<void>>();
  private stopped = false;
  private lastWarning = 0;
  private dropped = 0;

  constructor(private readonly options: ClickHouseSpanExporterOptions) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.stopped) {
      resultCallback({ code: ExportResultCode.FAILED, error: new FloodgateError('TRACE_EXPORT_FAILED', 'exporter is shut down') });
      return;
    }
    // Its ClickHouse client has no tracer: the export's own requests make no spans.
    const done = this.write(spans).then(
      () => resultCallback({ code: ExportResultCode.SUCCESS }),
      (error: unknown) => {
        this.dropped += spans.length;
        const now = Date.now();
        if (now - this.lastWarning > 30_000) {
          this.lastWarning = now;
          this.options.logger?.warn({ err: error, droppedSpans: this.dropped }, 'spans could not be written to ClickHouse; dropped');
        }
        resultCallback({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new FloodgateError('TRACE_EXPORT_FAILED', String(error), { cause: error, retriable: true }) });
      },
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }

  private async write(spans: ReadableSpan[]): Promise<void> {
    this.schema ??= this.options.ensureSchema().catch((error: unknown) => {
      this.schema = undefined;
      throw error;
    });
    await this.schema;
    const values = spans.map(toTraceRow);
    const insert = () =>
      this.options.client.insert({ table: `${this.options.database}.${TRACES_TABLE}`, values, format: 'JSONEachRow' });
    try {
      await insert();
    } catch (error) {
      // Dropped database or table (a test cleaning up, an operator resetting): create it again once.
      if (!UNKNOWN_TABLE.test(String((error as Error).message))) throw error;
      this.schema = this.options.ensureSchema();
      await this.schema;
      await insert();
    }
  }

  async forceFlush(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    await this.forceFlush();
  }
}
