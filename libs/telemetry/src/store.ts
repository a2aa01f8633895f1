import type { ClickHouseClient } from '@clickhouse/client';
import { parseDurationMs } from '@floodgate/config';
import { ATTR_EVENT_IDS, ATTR_HOP, HOPS } from './attributes.ts';
import { TRACES_TABLE } from './clickhouse-exporter.ts';
import { buildJourney, type Journey, type JourneyEvent, type JourneySpanRow } from './journey.ts';

/** One journey in a list: a gateway request span and what became of it. */
export interface JourneySummary {
  traceId: string;
  startedAt: string;
  /** Gateway span start to the last span's end, over the trace and the spans linking to it. */
  totalMs: number;
  /** Spans in the journey. */
  spans: number;
  /** The events reached ClickHouse (an insert span is part of the journey). */
  complete: boolean;
  status: string;
  tenant: string;
  eventIds: string[];
  services: string[];
}

export interface TraceStoreOptions {
  client: ClickHouseClient;
  database: string;
  /** The events table, for event id → trace id (default `events`). */
  eventsTable?: string;
}

const TRACE_ID = /^[0-9a-f]{32}$/i;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Reads journeys out of the span store (otel_traces) and the events table. */
export class TraceStore {
  private readonly traces: string;
  private readonly events: string;

  constructor(private readonly options: TraceStoreOptions) {
    const table = options.eventsTable ?? 'events';
    if (!IDENT.test(options.database) || !IDENT.test(table)) throw new TypeError('database and table must be plain identifiers');
    this.traces = `${options.database}.${TRACES_TABLE}`;
    this.events = `${options.database}.${table}`;
  }

  private async rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const result = await this.options.client.query({ query, query_params: params, format: 'JSONEachRow' });
    return result.json<T>();
  }

  /** The event's row, or undefined (also when the events table does not exist). */
  async event(id: string): Promise<(JourneyEvent & { traceId: string }) | undefined> {
    try {
      const [row] = await this.rows<{ id: string; tenant: string; type: string; trace_id: string; p: number; o: string; r: string; i: string; e2e: number }>(
        `SELECT id, tenant, type, trace_id, kafka_partition AS p, toString(kafka_offset) AS o,
                toString(received_at) AS r, toString(inserted_at) AS i,
                toFloat64(dateDiff('millisecond', received_at, inserted_at)) AS e2e
         FROM ${this.events} WHERE id = {id:String} ORDER BY inserted_at LIMIT 1`,
        { id },
      );
      if (!row) return undefined;
      return {
        id: row.id,
        tenant: row.tenant,
        type: row.type,
        traceId: row.trace_id,
        partition: Number(row.p),
        offset: row.o,
        receivedAt: row.r,
        insertedAt: row.i,
        endToEndMs: Number(row.e2e),
      };
    } catch (error) {
      if (/UNKNOWN_TABLE|UNKNOWN_DATABASE|Code: (60|81)\./.test(String((error as Error).message))) return undefined;
      throw error;
    }
  }

  /** The trace of an event id from its gateway span (for events not in the table yet). */
  private async traceOfEventFromSpans(id: string): Promise<string | undefined> {
    const [row] = await this.rows<{ TraceId: string }>(
      `SELECT TraceId FROM ${this.traces}
       WHERE SpanAttributes[{hopKey:String}] = {hop:String}
         AND has(JSONExtract(SpanAttributes[{idsKey:String}], 'Array(String)'), {id:String})
       ORDER BY Timestamp DESC LIMIT 1`,
      { hopKey: ATTR_HOP, hop: HOPS.gatewayRequest, idsKey: ATTR_EVENT_IDS, id },
    );
    return row?.TraceId;
  }

  private async spansOf(traceId: string): Promise<JourneySpanRow[]> {
    return this.rows<JourneySpanRow>(
      `SELECT TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName,
              toString(toUnixTimestamp64Nano(Timestamp)) AS StartNs, toString(Duration) AS DurationNs,
              StatusCode, StatusMessage, SpanAttributes,
              arrayFilter((s, t) -> t = {t:String}, Links.SpanId, Links.TraceId) AS LinkSpanIds,
              arrayFilter((a, t) -> t = {t:String}, Links.Attributes, Links.TraceId) AS LinkAttributes,
              length(Links.TraceId) AS LinkCount
       FROM ${this.traces}
       WHERE TraceId = {t:String} OR has(Links.TraceId, {t:String})
       ORDER BY Timestamp`,
      { t: traceId },
    );
  }

  /**
   * The journey of an event id or a trace id (32 hex digits). An event id is looked up in the
   * events table (its trace_id column), then in the gateway spans' event ids.
   */
  async journey(id: string): Promise<Journey | undefined> {
    const trimmed = id.trim();
    let event: (JourneyEvent & { traceId: string }) | undefined;
    let traceId: string | undefined;
    if (TRACE_ID.test(trimmed)) {
      traceId = trimmed.toLowerCase();
      const rows = await this.spansOf(traceId);
      if (rows.length > 0) return buildJourney(traceId, rows, await this.eventOfTrace(traceId, rows));
    }
    event = await this.event(trimmed);
    traceId = event?.traceId || (await this.traceOfEventFromSpans(trimmed));
    if (!traceId) return undefined;
    const rows = await this.spansOf(traceId);
    const eventInfo = event ? (({ traceId: _t, ...rest }) => rest)(event) : undefined;
    if (rows.length === 0) return undefined;
    return buildJourney(traceId, rows, eventInfo);
  }

  /** For a trace id search: the first event of its gateway request, when it reached the table. */
  private async eventOfTrace(traceId: string, rows: JourneySpanRow[]): Promise<JourneyEvent | undefined> {
    const gateway = rows.find((r) => r.TraceId === traceId && r.SpanAttributes[ATTR_HOP] === HOPS.gatewayRequest);
    const first = gateway ? parseIds(gateway.SpanAttributes[ATTR_EVENT_IDS])[0] : undefined;
    if (!first) return undefined;
    const event = await this.event(first);
    if (!event) return undefined;
    const { traceId: _t, ...rest } = event;
    return rest;
  }

  /** Journeys that started in the last `sinceSeconds`: the slowest first, or the most recent first. */
  async list(options: { sinceSeconds: number; limit: number; order: 'slowest' | 'recent' }): Promise<JourneySummary[]> {
    const rows = await this.rows<{
      traceId: string;
      startedAt: string;
      totalNs: string;
      spans: string | number;
      complete: number;
      status: string;
      tenant: string;
      ids: string;
      services: string[];
    }>(
      `WITH toDateTime64(now64(3) - toIntervalSecond({since:UInt32}), 9) AS since
       SELECT g.TraceId AS traceId,
              toString(g.Timestamp) AS startedAt,
              toString(greatest(ifNull(e.endNs, 0), g.startNs + toInt64(g.Duration)) - g.startNs) AS totalNs,
              ifNull(e.spans, 1) AS spans,
              ifNull(e.inserted, 0) AS complete,
              g.SpanAttributes['http.response.status_code'] AS status,
              g.SpanAttributes['floodgate.tenant'] AS tenant,
              g.SpanAttributes[{idsKey:String}] AS ids,
              ifNull(e.services, []) AS services
       FROM (
         SELECT TraceId, Timestamp, toUnixTimestamp64Nano(Timestamp) AS startNs, Duration, SpanAttributes
         FROM ${this.traces}
         WHERE SpanAttributes[{hopKey:String}] = {hop:String} AND Timestamp >= since
       ) AS g
       LEFT JOIN (
         SELECT tid, max(endNs) AS endNs, uniqExact(sid) AS spans, max(hop = {insertHop:String}) AS inserted, groupUniqArray(service) AS services
         FROM (
           SELECT TraceId AS tid, SpanId AS sid, toUnixTimestamp64Nano(Timestamp) + toInt64(Duration) AS endNs,
                  SpanAttributes[{hopKey:String}] AS hop, ServiceName AS service
           FROM ${this.traces} WHERE Timestamp >= since
           UNION ALL
           SELECT arrayJoin(arrayDistinct(Links.TraceId)) AS tid, SpanId AS sid, toUnixTimestamp64Nano(Timestamp) + toInt64(Duration) AS endNs,
                  SpanAttributes[{hopKey:String}] AS hop, ServiceName AS service
           FROM ${this.traces} WHERE Timestamp >= since AND notEmpty(Links.TraceId)
         )
         GROUP BY tid
       ) AS e ON e.tid = g.TraceId
       ORDER BY ${options.order === 'slowest' ? 'toInt64(totalNs) DESC' : 'g.Timestamp DESC'}
       LIMIT {limit:UInt32}`,
      { since: Math.max(1, Math.floor(options.sinceSeconds)), limit: options.limit, hopKey: ATTR_HOP, hop: HOPS.gatewayRequest, insertHop: HOPS.clickhouseInsert, idsKey: ATTR_EVENT_IDS },
    );
    return rows.map((r) => ({
      traceId: r.traceId,
      startedAt: r.startedAt,
      totalMs: Number(BigInt(r.totalNs) / 1000n) / 1000,
      spans: Number(r.spans),
      complete: Number(r.complete) === 1,
      status: r.status,
      tenant: r.tenant,
      eventIds: parseIds(r.ids),
      services: [...r.services].sort(),
    }));
  }
}

function parseIds(value: string | undefined): string[] {
  if (!value) return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

/** `10m`, `90s`, `2h`, `1d` (or plain seconds; the one syntax, parseDurationMs) → seconds. */
export function parseDuration(text: string): number | undefined {
  const ms = parseDurationMs(text);
  return ms === undefined ? undefined : ms / 1000;
}
