import { describe, expect, it } from 'vitest';
import { escapeHtml, lineChart, niceTicks, renderHtml } from '../src/html.ts';
import { renderSummary } from '../src/report.ts';
import { historyJson, renderCompare, renderHistory, toRow } from '../src/store.ts';
import { fixtureReport } from './fixture.ts';

describe('HTML report', () => {
  const html = renderHtml(fixtureReport());

  it('is one self-contained file: no script, no stylesheet or image link, nothing to fetch', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/url\(/i);
    expect(html).not.toMatch(/@import/i);
    // The only URL-looking strings are the SVG namespace and the run's own target/paths.
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<)]+/g)].map((m) => m[0]).filter((u) => u !== 'http://www.w3.org/2000/svg' && !u.startsWith('http://127.0.0.1'));
    expect(urls).toEqual([]);
  });

  it('draws the charts the issue asks for', () => {
    for (const title of [
      'Rate (requests/s)',
      'Latency percentiles per second',
      'Distribution: latency by percentile',
      'End-to-end latency per second of receive time',
      'CPU per process',
      'Resident memory per process',
      'Events acknowledged per second',
    ]) {
      expect(html).toContain(escapeHtml(title));
    }
    expect((html.match(/<svg /g) ?? []).length).toBe(7);
    expect(html).toContain('delivery proven');
    expect(html).toContain('nproc 2');
  });

  it('shows a failed proof as failed', () => {
    const r = fixtureReport();
    if (r.delivery.checked) Object.assign(r.delivery, { ok: false, exact: false, missing: 3, reason: '3 acknowledged event(s) missing' });
    expect(renderHtml(r)).toContain('delivery FAILED');
  });

  it('escapes what it shows', () => {
    const r = fixtureReport({ scenario: '<b>x</b>' });
    expect(renderHtml(r)).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(renderHtml(r)).not.toContain('<b>x</b>');
  });

  it('draws an empty chart without failing', () => {
    expect(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [] })).toContain('no data');
    expect(niceTicks(0, 97)).toEqual([0, 20, 40, 60, 80, 100]);
  });
});

describe('terminal summary', () => {
  it('has the rates, the percentiles, errors by code, processes and the proof', () => {
    const text = renderSummary(fixtureReport());
    expect(text).toContain('nproc 2');
    expect(text).toContain('the generator shares these cores with the system under test');
    expect(text).toMatch(/target rate \(req\/s\)\s+640 mean, 800 peak/);
    expect(text).toMatch(/efficiency \(achieved \/ intended rate\)\s+98\.95 %/);
    expect(text).toMatch(/offered \(req\/s sent over the load time\)\s+640/);
    expect(text).toMatch(/answered \(req\/s over the time the answers took\)\s+634/);
    expect(text.split('\n')[0]).toBe('verdict: PASSED');
    expect(text).toMatch(/latency \(from intended send\)\s+2\.50 ms\s+5\.10 ms\s+7\.20 ms\s+21\.30 ms\s+40\.20 ms\s+58\.00 ms/);
    expect(text).toMatch(/503 OVERLOADED\s+8/);
    expect(text).toMatch(/gateway\s+1\s+62 %/);
    expect(text).toContain('delivery proof: PASS: acknowledged 127,920, rows 127,920, distinct ids 127,920, duplicate ids 0, missing 0');
  });
});

describe('stored runs', () => {
  it('map to a bench_runs row with the report inside', () => {
    const row = toRow(fixtureReport());
    expect(row).toMatchObject({ run_id: '20260101-000000-abcd', started_at: '2026-01-01 00:00:00.000', scenario: 'storm', batch: 10, p99_ms: 21.3, delivery: 'pass', delivered_rows: 127920, duplicate_ids: 0, nproc: 2 });
    expect(JSON.parse(row.report).runId).toBe('20260101-000000-abcd');
  });

  it('print as JSON the CLI way: camelCase keys, ISO-8601 times, numbers as numbers', () => {
    const { report: _report, ...row } = toRow(fixtureReport());
    const json = historyJson(row);
    expect(json).toMatchObject({ runId: '20260101-000000-abcd', startedAt: '2026-01-01T00:00:00.000Z', scenario: 'storm', batch: 10, p99Ms: 21.3, deliveredRows: 127920 });
    expect(Object.keys(json).filter((k) => k.includes('_'))).toEqual([]);
  });

  it('list as history and compare side by side', () => {
    const { report: _report, ...row } = toRow(fixtureReport());
    expect(renderHistory([row])).toMatch(/20260101-000000-abcd\s+2026-01-01 00:00:00\s+storm\s+http\s+10\s+640/);
    const b = fixtureReport({ runId: 'b', latencyMs: { ...fixtureReport().latencyMs, p99: 42.6 } });
    const text = renderCompare(fixtureReport(), b);
    expect(text).toMatch(/latency p99 ms\s+21\.3\s+42\.6\s+\+100\.0 % worse/);
    expect(text).toMatch(/delivery\s+pass \(127920\/127920 rows, 0 dup\)/);
  });
});
