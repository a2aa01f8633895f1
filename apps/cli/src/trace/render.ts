import type { Journey, JourneySummary } from '@floodgate/telemetry';
import { renderTable } from '@floodgate/tables';

export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(3)} s`;
  if (ms >= 100) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** A bar of `width` cells: the span's place within the journey. */
function bar(offsetMs: number, durationMs: number, totalMs: number, width: number): string {
  const total = Math.max(totalMs, 1e-6);
  // A batch span that began before the journey is drawn from the journey's start.
  const visibleMs = offsetMs < 0 ? Math.max(0, durationMs + offsetMs) : durationMs;
  const from = Math.min(width - 1, Math.floor((Math.max(0, offsetMs) / total) * width));
  const length = Math.max(1, Math.min(width - from, Math.round((visibleMs / total) * width)));
  return `${'·'.repeat(from)}${'█'.repeat(length)}${'·'.repeat(width - from - length)}`;
}

/**
 * An event's journey as a terminal waterfall: one line per hop (service, span, start offset,
 * duration, bar), the hop's summary (counts, bytes, partition, offsets, batch) under it.
 */
export function renderJourney(journey: Journey, width = 40): string {
  const lines: string[] = [];
  const e = journey.event;
  lines.push(e ? `Journey of event ${e.id}` : `Journey of trace ${journey.traceId}`);
  lines.push(
    `trace ${journey.traceId} · started ${journey.startedAt.replace('T', ' ').replace('Z', ' UTC')} · end-to-end ${formatMs(journey.totalMs)} · ` +
      `${journey.hops.length} spans from ${journey.services.length} services · ${journey.complete ? 'in ClickHouse' : 'not inserted yet'}`,
  );
  if (e) {
    lines.push(
      `event: tenant ${e.tenant}, type ${e.type} · Kafka partition ${e.partition}, offset ${e.offset} · received ${e.receivedAt} → inserted ${e.insertedAt} (${formatMs(e.endToEndMs)})`,
    );
  }
  lines.push('');
  const rows = journey.hops.map((h, i) => [
    String(i + 1),
    h.service,
    `${'  '.repeat(h.depth)}${h.name}${h.linked ? ' ↗' : ''}${h.status === 'error' ? ' ✗' : ''}`,
    `${h.startOffsetMs < 0 ? '-' : '+'}${formatMs(Math.abs(h.startOffsetMs))}`,
    formatMs(h.durationMs),
    bar(h.startOffsetMs, h.durationMs, journey.totalMs, width),
  ]);
  const table = renderTable(['#', 'SERVICE', 'SPAN', 'START', 'DURATION', `WATERFALL (0 → ${formatMs(journey.totalMs)})`], rows).split('\n');
  lines.push(table[0]!);
  journey.hops.forEach((h, i) => {
    lines.push(table[i + 1]!);
    const detail = [h.summary, h.status === 'error' && h.statusMessage ? `error: ${h.statusMessage}` : '', h.linked ? `linked from trace ${h.traceId}` : '']
      .filter(Boolean)
      .join(' · ');
    if (detail) lines.push(`${' '.repeat(String(journey.hops.length).length + 2)}└ ${detail}`);
  });
  return lines.join('\n');
}

export function renderJourneyList(title: string, journeys: JourneySummary[]): string {
  if (journeys.length === 0) return `${title}: none (no sampled journeys in that window)`;
  const rows = journeys.map((j) => [
    formatMs(j.totalMs),
    j.startedAt,
    String(j.spans),
    j.complete ? 'inserted' : 'in flight',
    j.status,
    j.traceId,
    j.eventIds.length === 0 ? '-' : `${j.eventIds[0]}${j.eventIds.length > 1 ? ` (+${j.eventIds.length - 1})` : ''}`,
  ]);
  return `${title}\n${renderTable(['END-TO-END', 'STARTED (UTC)', 'SPANS', 'STATE', 'STATUS', 'TRACE ID', 'EVENT'], rows)}`;
}
