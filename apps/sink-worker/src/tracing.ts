/**
 * Spans of a sink batch, through @opentelemetry/api only (docs/tracing.md). A batch is traced when
 * any of its messages carries a sampled `traceparent` header (the ingest worker set it); otherwise
 * nothing here allocates: one property check per row.
 *
 * `process <topic>` (consumer) runs from the arrival of the batch's first row at the sink to the
 * offset commit, so the waterfall shows the time an event waited in the buffer. `INSERT <table>`
 * (client) is the ClickHouse insert, with a link to every sampled event of the batch. Both are
 * children of the first sampled event's context, so that event's trace holds them; the others
 * reach them through the links.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Link, type Span, type SpanContext } from '@opentelemetry/api';
import { isSampledTraceparent, spanContextOf } from '@floodgate/telemetry';
import * as attr from '@floodgate/telemetry/attributes';
import type { BufferedRow } from './rows.ts';

const tracer = trace.getTracer('floodgate');

/** Names the batch spans carry; the sink passes them to its partition actors. */
export interface SinkTraceInfo {
  database: string;
  table: string;
  group: string;
}

interface SampledRow {
  context: SpanContext;
  header: string;
  eventId: string;
  offset: number;
}

function headerText(value: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : typeof first === 'string' ? first : first.toString('latin1');
}

/** The sampled events among some rows; undefined (no allocation) when there are none. */
function sampledRows(rows: readonly BufferedRow[]): SampledRow[] | undefined {
  let sampled: SampledRow[] | undefined;
  let last: SampledRow | undefined;
  for (const row of rows) {
    const headers = row.message.headers;
    if (headers === undefined || headers.traceparent === undefined) continue;
    const header = headerText(headers.traceparent);
    if (header === undefined || header.length < 55 || !isSampledTraceparent(header)) continue;
    // Events of one request share a header: parse it once.
    const context = last !== undefined && last.header === header ? last.context : spanContextOf(header);
    if (!context) continue;
    last = { context, header, eventId: headerText(headers['event-id']) ?? '', offset: row.offset };
    (sampled ??= []).push(last);
  }
  return sampled;
}

export interface BatchInfo {
  topic: string;
  partition: number;
  reason: string;
  first: number;
  last: number;
  rows: number;
}

export class SinkBatchTrace {
  private constructor(
    private readonly span: Span,
    private readonly info: BatchInfo,
    private readonly names: SinkTraceInfo | undefined,
  ) {}

  /** A trace for the batch when any of its events is sampled, else undefined. */
  static start(rows: readonly BufferedRow[], info: BatchInfo, names: SinkTraceInfo | undefined): SinkBatchTrace | undefined {
    const sampled = sampledRows(rows);
    if (sampled === undefined) return undefined;
    // One link per distinct context (a request's events share one), with how many events it carried.
    const distinct = new Map<string, { context: SpanContext; count: number }>();
    for (const s of sampled) {
      const known = distinct.get(s.header);
      if (known) known.count++;
      else distinct.set(s.header, { context: s.context, count: 1 });
    }
    const links: Link[] = [...distinct.values()].map((d) => ({ context: d.context, attributes: { 'floodgate.events': d.count } }));
    const span = tracer.startSpan(
      `process ${info.topic}`,
      {
        kind: SpanKind.CONSUMER,
        startTime: rows[0]?.arrivedAt || Date.now(),
        links,
        attributes: {
          [attr.ATTR_HOP]: attr.HOPS.sinkConsume,
          [attr.ATTR_MESSAGING_SYSTEM]: attr.MESSAGING_SYSTEM_KAFKA,
          [attr.ATTR_MESSAGING_OPERATION_TYPE]: 'process',
          [attr.ATTR_MESSAGING_OPERATION_NAME]: 'process',
          [attr.ATTR_MESSAGING_DESTINATION_NAME]: info.topic,
          [attr.ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(info.partition),
          [attr.ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: info.rows,
          [attr.ATTR_KAFKA_FIRST_OFFSET]: info.first,
          [attr.ATTR_KAFKA_LAST_OFFSET]: info.last,
          [attr.ATTR_BATCH_SAMPLED]: sampled.length,
          'floodgate.flush.reason': info.reason,
          ...(names ? { [attr.ATTR_MESSAGING_CONSUMER_GROUP_NAME]: names.group } : {}),
        },
      },
      trace.setSpanContext(ROOT_CONTEXT, sampled[0]!.context),
    );
    return new SinkBatchTrace(span, info, names);
  }

  /** The insert of some of the batch's rows (all of them, unless rejected rows are being isolated). */
  startInsert(rows: readonly BufferedRow[], token: string): InsertTrace {
    const sampled = sampledRows(rows) ?? [];
    const table = this.names?.table ?? 'events';
    const span = tracer.startSpan(
      `INSERT ${table}`,
      {
        kind: SpanKind.CLIENT,
        // Every sampled event in the insert: its id, offset and partition.
        links: sampled.map((s) => ({
          context: s.context,
          attributes: {
            [attr.ATTR_MESSAGING_MESSAGE_ID]: s.eventId,
            [attr.ATTR_MESSAGING_KAFKA_OFFSET]: s.offset,
            [attr.ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(this.info.partition),
          },
        })),
        attributes: {
          [attr.ATTR_HOP]: attr.HOPS.clickhouseInsert,
          [attr.ATTR_DB_SYSTEM_NAME]: attr.DB_SYSTEM_CLICKHOUSE,
          [attr.ATTR_DB_OPERATION_NAME]: 'INSERT',
          [attr.ATTR_DB_COLLECTION_NAME]: table,
          [attr.ATTR_DB_QUERY_SUMMARY]: `INSERT ${table}`,
          [attr.ATTR_DB_OPERATION_BATCH_SIZE]: rows.length,
          [attr.ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(this.info.partition),
          [attr.ATTR_KAFKA_FIRST_OFFSET]: rows[0]?.offset ?? this.info.first,
          [attr.ATTR_KAFKA_LAST_OFFSET]: rows[rows.length - 1]?.offset ?? this.info.last,
          [attr.ATTR_INSERT_TOKEN]: token,
          [attr.ATTR_BATCH_SAMPLED]: sampled.length,
          ...(this.names ? { [attr.ATTR_DB_NAMESPACE]: this.names.database } : {}),
        },
      },
      trace.setSpan(ROOT_CONTEXT, this.span),
    );
    return new InsertTrace(span);
  }

  /** After the offset commit. */
  end(bytes: number, inserted: number, deadLettered: number): void {
    this.span.setAttributes({ [attr.ATTR_BATCH_BYTES]: bytes, 'floodgate.batch.inserted': inserted, 'floodgate.batch.dead_lettered': deadLettered });
    this.span.end();
  }
}

export class InsertTrace {
  constructor(private readonly span: Span) {}

  bodyBytes(bytes: number): void {
    this.span.setAttribute(attr.ATTR_BATCH_BYTES, bytes);
  }

  /** A failed attempt that will be retried: an event on the span. */
  retrying(attempt: number, code: string, delayMs: number): void {
    this.span.addEvent('insert failed; retrying', { [attr.ATTR_ERROR_TYPE]: code, [attr.ATTR_INSERT_ATTEMPT]: attempt + 1, 'floodgate.retry.delay_ms': delayMs });
  }

  succeeded(attempts: number, written: number | undefined): void {
    this.span.setAttribute(attr.ATTR_INSERT_ATTEMPT, attempts);
    if (written !== undefined) this.span.setAttribute('floodgate.clickhouse.written_rows', written);
    this.span.end();
  }

  rejected(attempts: number, code: string, message: string): void {
    this.span.setAttributes({ [attr.ATTR_INSERT_ATTEMPT]: attempts, [attr.ATTR_ERROR_TYPE]: code });
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: message.slice(0, 300) });
    this.span.end();
  }
}
