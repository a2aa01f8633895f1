import { describe, expect, it } from 'vitest';
import type { Journey, JourneySummary } from '@floodgate/telemetry';
import { formatMs, renderJourney, renderJourneyList } from '../src/trace/render.ts';

const hop = (over: Partial<Journey['hops'][number]>): Journey['hops'][number] => ({
  traceId: 't'.repeat(32),
  spanId: 's',
  parentSpanId: '',
  name: 'span',
  kind: 'internal',
  service: 'svc',
  hop: '',
  startOffsetMs: 0,
  durationMs: 1,
  depth: 0,
  linked: false,
  status: 'unset',
  statusMessage: '',
  attributes: {},
  linkCount: 0,
  summary: '',
  ...over,
});

describe('trace rendering', () => {
  it('draws one line per hop, indented by depth, with start, duration, a bar and the summary under it', () => {
    const journey: Journey = {
      traceId: 't'.repeat(32),
      startedAt: '2026-11-23T06:00:00.000Z',
      totalMs: 100,
      complete: true,
      services: ['gw', 'sink'],
      hops: [
        hop({ name: 'POST /v1/events', service: 'gw', durationMs: 20, summary: 'POST /v1/events → 202' }),
        hop({ name: 'process events', service: 'sink', depth: 1, startOffsetMs: -10, durationMs: 110, linked: true, traceId: 'u'.repeat(32) }),
        hop({ name: 'INSERT events', service: 'sink', depth: 2, startOffsetMs: 90, durationMs: 10, status: 'error', statusMessage: 'boom' }),
      ],
    };
    const lines = renderJourney(journey, 10).split('\n');
    expect(lines[0]).toBe(`Journey of trace ${'t'.repeat(32)}`);
    expect(lines[1]).toBe(`trace ${'t'.repeat(32)} · started 2026-11-23 06:00:00.000 UTC · end-to-end 100.0 ms · 3 spans from 2 services · in ClickHouse`);
    expect(lines[3]).toMatch(/^#\s+SERVICE\s+SPAN\s+START\s+DURATION\s+WATERFALL \(0 → 100\.0 ms\)$/);
    expect(lines[4]).toMatch(/^1\s+gw\s+POST \/v1\/events\s+\+0\.00 ms\s+20\.00 ms\s+██········$/);
    expect(lines[5]).toBe('   └ POST /v1/events → 202');
    // A linked batch span that began before the journey: negative start, drawn from 0.
    expect(lines[6]).toMatch(/^2\s+sink\s+ {2}process events ↗\s+-10\.00 ms\s+110\.0 ms\s+██████████$/);
    expect(lines[7]).toBe(`   └ linked from trace ${'u'.repeat(32)}`);
    expect(lines[8]).toMatch(/^3\s+sink\s+ {4}INSERT events ✗\s+\+90\.00 ms\s+10\.00 ms\s+·········█$/);
    expect(lines[9]).toBe('   └ error: boom');
  });

  it('lists journeys, and says so when there are none', () => {
    const summary: JourneySummary = {
      traceId: 'a'.repeat(32),
      startedAt: '2026-11-23 06:00:00.000',
      totalMs: 1234.5,
      spans: 5,
      complete: false,
      status: '202',
      tenant: 't',
      eventIds: ['e1', 'e2'],
      services: [],
    };
    expect(renderJourneyList('Slowest', [summary]).split('\n')[2]).toMatch(/^1\.234 s\s+2026-11-23 06:00:00\.000\s+5\s+in flight\s+202\s+a{32}\s+e1 \(\+1\)$/);
    expect(renderJourneyList('Slowest', [])).toBe('Slowest: none (no sampled journeys in that window)');
    expect(formatMs(0.5)).toBe('0.50 ms');
  });
});
