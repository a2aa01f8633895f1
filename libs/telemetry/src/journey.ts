/**
 * An event's journey: the spans of its trace plus the batch spans of other traces that link to it
 * (a micro-batch, a Kafka send, a sink batch or a ClickHouse insert is one span for many events:
 * it belongs to one event's trace and links to the others), arranged as a tree in time order.
 * Pure: the rows come from the span store (store.ts), the output feeds the CLI and the web page.
 */
import { ATTR_HOP, HOPS } from './attributes.ts';

/** A span as the journey query returns it (otel_traces columns, links narrowed to this trace). */
export interface JourneySpanRow {
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  SpanKind: string;
  ServiceName: string;
  /** Start, ns since the epoch (a string: beyond 2^53). */
  StartNs: string;
  DurationNs: string;
  StatusCode: string;
  StatusMessage: string;
  SpanAttributes: Record<string, string>;
  /** Span ids of this span's links into the journey's trace. */
  LinkSpanIds: string[];
  /** Attributes of those links, index by index. */
  LinkAttributes: Record<string, string>[];
  /** All links of the span, into any trace. */
  LinkCount: number | string;
}

/** The event's row in the events table, when it is there. */
export interface JourneyEvent {
  id: string;
  tenant: string;
  type: string;
  partition: number;
  offset: string;
  receivedAt: string;
  insertedAt: string;
  /** inserted_at - received_at, ms: the event's own end-to-end time. */
  endToEndMs: number;
}

export interface JourneyHop {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** server, client, producer, consumer, internal. */
  kind: string;
  service: string;
  /** floodgate.hop, when the span is one of the journey's steps. */
  hop: string;
  /** From the journey's start (its own trace's first span); negative for a batch span that began earlier. */
  startOffsetMs: number;
  durationMs: number;
  depth: number;
  /** A batch span of another trace, in this journey through a span link. */
  linked: boolean;
  status: 'unset' | 'ok' | 'error';
  statusMessage: string;
  attributes: Record<string, string>;
  /** Links of this span in all (a batch span links to every sampled event it carried). */
  linkCount: number;
  /** One-line summary of what the hop did: counts, bytes, partition, offsets, batch. */
  summary: string;
}

export interface Journey {
  traceId: string;
  event?: JourneyEvent;
  /** ISO time of the first span's start. */
  startedAt: string;
  /** From the first span's start to the last span's end. */
  totalMs: number;
  /** A ClickHouse insert span is part of it: the event reached the table. */
  complete: boolean;
  services: string[];
  hops: JourneyHop[];
}

const HOP_ORDER: Record<string, number> = {
  [HOPS.gatewayRequest]: 0,
  [HOPS.ingestBatch]: 1,
  [HOPS.kafkaProduce]: 2,
  [HOPS.sinkConsume]: 3,
  [HOPS.clickhouseInsert]: 4,
};

function kindName(kind: string): string {
  return kind.replace(/^SPAN_KIND_/, '').toLowerCase() || 'internal';
}

function statusName(code: string): JourneyHop['status'] {
  if (code.endsWith('ERROR') || code === 'Error') return 'error';
  if (code.endsWith('OK') || code === 'Ok') return 'ok';
  return 'unset';
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '?';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function jsonArray(value: string | undefined): string[] {
  if (!value) return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed.map(String) : [value];
  } catch {
    return [value];
  }
}

/** What a hop did, in a line. `eventId` narrows a batch span to the event's own partition and offset. */
export function summarise(hop: string, a: Record<string, string>, linkAttributes: Record<string, string>[], eventId?: string): string {
  const parts: string[] = [];
  const n = (key: string) => (a[key] === undefined ? undefined : Number(a[key]));
  switch (hop) {
    case HOPS.gatewayRequest: {
      parts.push(`${a['http.request.method'] ?? ''} ${a['http.route'] ?? a['url.path'] ?? ''} → ${a['http.response.status_code'] ?? '?'}`.trim());
      if (a['floodgate.event.count'] !== undefined) parts.push(`${a['floodgate.event.count']} event(s)`);
      if (a['http.request.body.size'] !== undefined) parts.push(formatBytes(Number(a['http.request.body.size'])));
      if (a['floodgate.tenant']) parts.push(`tenant ${a['floodgate.tenant']}`);
      if (a['floodgate.error.code']) parts.push(`error ${a['floodgate.error.code']}`);
      break;
    }
    case HOPS.ingestBatch:
      parts.push(`micro-batch of ${a['floodgate.batch.requests'] ?? '?'} request(s), ${a['floodgate.batch.events'] ?? '?'} event(s), ${formatBytes(n('floodgate.batch.bytes') ?? NaN)}`);
      if (a['thread.id']) parts.push(`thread ${a['thread.id']}`);
      if (Number(a['floodgate.batch.rejected_requests'] ?? 0) > 0) parts.push(`${a['floodgate.batch.rejected_requests']} rejected`);
      break;
    case HOPS.kafkaProduce: {
      parts.push(`topic ${a['messaging.destination.name'] ?? '?'}, ${a['messaging.batch.message_count'] ?? '?'} message(s), ${formatBytes(n('messaging.message.body.size') ?? NaN)}`);
      const partitions = jsonArray(a['floodgate.kafka.partitions']);
      const offsets = jsonArray(a['floodgate.kafka.base_offsets']);
      if (partitions.length > 0) parts.push(`partition:base offset ${partitions.map((p, i) => `${p}:${offsets[i] ?? '?'}`).join(' ')}`);
      break;
    }
    case HOPS.sinkConsume:
    case HOPS.clickhouseInsert: {
      const own = eventId ? linkAttributes.find((l) => l['messaging.message.id'] === eventId) : undefined;
      if (hop === HOPS.clickhouseInsert) {
        parts.push(`${a['db.collection.name'] ?? 'events'}: batch of ${a['db.operation.batch.size'] ?? a['messaging.batch.message_count'] ?? '?'} row(s)`);
        if (a['floodgate.batch.bytes']) parts.push(formatBytes(Number(a['floodgate.batch.bytes'])));
      } else {
        parts.push(`${a['messaging.batch.message_count'] ?? '?'} message(s) from ${a['messaging.destination.name'] ?? '?'}`);
      }
      if (a['messaging.destination.partition.id'] !== undefined) parts.push(`partition ${a['messaging.destination.partition.id']}`);
      if (a['floodgate.kafka.first_offset'] !== undefined) parts.push(`offsets ${a['floodgate.kafka.first_offset']}..${a['floodgate.kafka.last_offset'] ?? '?'}`);
      if (own?.['messaging.kafka.offset'] !== undefined) parts.push(`this event at offset ${own['messaging.kafka.offset']}`);
      if (a['floodgate.clickhouse.attempt'] && a['floodgate.clickhouse.attempt'] !== '1') parts.push(`attempt ${a['floodgate.clickhouse.attempt']}`);
      break;
    }
    default:
      break;
  }
  if (a['error.type']) parts.push(`error.type ${a['error.type']}`);
  return parts.filter(Boolean).join(', ');
}

/** Builds the journey of trace `traceId` from its spans and the spans linking to it. */
export function buildJourney(traceId: string, rows: readonly JourneySpanRow[], event?: JourneyEvent): Journey | undefined {
  if (rows.length === 0) return undefined;
  const byId = new Map<string, JourneySpanRow>();
  for (const row of rows) if (!byId.has(row.SpanId)) byId.set(row.SpanId, row);
  const spans = [...byId.values()];
  // The journey starts with its own trace's first span (the gateway request). A batch span of
  // another trace may have started earlier (it was collecting other events): it gets a negative offset.
  const own = spans.filter((r) => r.TraceId === traceId);
  const anchor = own.length > 0 ? own : spans;
  const start = anchor.reduce((min, r) => (BigInt(r.StartNs) < min ? BigInt(r.StartNs) : min), BigInt(anchor[0]!.StartNs));
  let end = start;
  for (const r of spans) {
    const e = BigInt(r.StartNs) + BigInt(r.DurationNs);
    if (e > end) end = e;
  }
  const ms = (ns: bigint) => Number(ns / 1000n) / 1000;

  // Parent of each span within the journey: its own parent when present, else (a span of another
  // trace) the span of this trace its link points to.
  const parentOf = new Map<string, string | undefined>();
  for (const r of spans) {
    let parent: string | undefined;
    if (r.ParentSpanId && byId.has(r.ParentSpanId) && r.ParentSpanId !== r.SpanId) parent = r.ParentSpanId;
    else if (r.TraceId !== traceId) parent = r.LinkSpanIds.find((id) => byId.has(id) && id !== r.SpanId);
    parentOf.set(r.SpanId, parent);
  }
  const children = new Map<string | undefined, JourneySpanRow[]>();
  for (const r of spans) {
    const p = parentOf.get(r.SpanId);
    const list = children.get(p) ?? [];
    list.push(r);
    children.set(p, list);
  }
  const order = (a: JourneySpanRow, b: JourneySpanRow) => {
    const d = BigInt(a.StartNs) - BigInt(b.StartNs);
    if (d !== 0n) return d < 0n ? -1 : 1;
    return (HOP_ORDER[a.SpanAttributes[ATTR_HOP] ?? ''] ?? 9) - (HOP_ORDER[b.SpanAttributes[ATTR_HOP] ?? ''] ?? 9);
  };
  const hops: JourneyHop[] = [];
  const visited = new Set<string>();
  const visit = (r: JourneySpanRow, depth: number) => {
    if (visited.has(r.SpanId)) return;
    visited.add(r.SpanId);
    const hop = r.SpanAttributes[ATTR_HOP] ?? '';
    hops.push({
      traceId: r.TraceId,
      spanId: r.SpanId,
      parentSpanId: r.ParentSpanId,
      name: r.SpanName,
      kind: kindName(r.SpanKind),
      service: r.ServiceName,
      hop,
      startOffsetMs: ms(BigInt(r.StartNs) - start),
      durationMs: ms(BigInt(r.DurationNs)),
      depth,
      linked: r.TraceId !== traceId,
      status: statusName(r.StatusCode),
      statusMessage: r.StatusMessage,
      attributes: r.SpanAttributes,
      linkCount: Number(r.LinkCount),
      summary: summarise(hop, r.SpanAttributes, r.LinkAttributes, event?.id),
    });
    for (const child of (children.get(r.SpanId) ?? []).sort(order)) visit(child, depth + 1);
  };
  // Roots: spans without a parent in the journey (cycles, impossible in valid data, are broken here).
  for (const root of (children.get(undefined) ?? []).sort(order)) visit(root, 0);
  for (const r of [...spans].sort(order)) visit(r, 0);

  return {
    traceId,
    ...(event ? { event } : {}),
    startedAt: new Date(Number(start / 1_000_000n)).toISOString(),
    totalMs: ms(end - start),
    complete: hops.some((h) => h.hop === HOPS.clickhouseInsert),
    services: [...new Set(hops.map((h) => h.service))],
    hops,
  };
}
