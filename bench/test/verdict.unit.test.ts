import { describe, expect, it } from 'vitest';
import { renderHtml } from '../src/html.ts';
import { renderSummary } from '../src/report.ts';
import { judgeRun, parseSlo, type VerdictInput } from '../src/verdict.ts';
import { fixtureReport } from './fixture.ts';

const lat = { count: 100, mean: 10, p50: 8, p90: 20, p95: 30, p99: 60, p999: 90, max: 120 };
const base: VerdictInput = {
  unit: 'request',
  stopReason: 'completed',
  sent: 100,
  ok: 100,
  failed: 0,
  eventsAcked: 100,
  errors: [],
  latencyMs: lat,
  delivery: { checked: true, ok: true, reason: 'all 100 acknowledged events landed exactly once', acknowledged: 100 },
};

describe('bench verdict', () => {
  it('passes a run whose requests succeeded and landed', () => {
    expect(judgeRun(base)).toEqual({ ok: true, reasons: [] });
  });

  it('fails a run whose requests all failed, naming the errors, even with a vacuous delivery proof', () => {
    const v = judgeRun({
      ...base,
      ok: 0,
      failed: 20,
      sent: 20,
      eventsAcked: 0,
      errors: [{ key: '401 UNAUTHORIZED', count: 20 }],
      latencyMs: { ...lat, count: 0 },
      delivery: { checked: true, ok: true, reason: 'all 0 acknowledged events landed exactly once', acknowledged: 0 },
    });
    expect(v).toEqual({ ok: false, reasons: ['20 of 20 requests failed (100 %): 401 UNAUTHORIZED ×20'] });
  });

  it('fails a mostly failed run and passes one with a few errors (no objective given)', () => {
    expect(judgeRun({ ...base, ok: 49, failed: 51 }).ok).toBe(false);
    expect(judgeRun({ ...base, ok: 95, failed: 5 }).ok).toBe(true);
  });

  it('fails an unreachable target, a failed proof and a run that sent nothing', () => {
    expect(judgeRun({ ...base, stopReason: 'target-unreachable', sent: 0, ok: 0, eventsAcked: 0 }).reasons).toEqual(['the load could not run (target unreachable)', 'no request was sent']);
    expect(judgeRun({ ...base, delivery: { checked: true, ok: false, reason: '3 acknowledged event(s) missing', acknowledged: 100 } }).reasons).toEqual([
      'delivery proof failed: 3 acknowledged event(s) missing',
    ]);
  });

  it('judges --slo objectives: p99=50ms is missed at p99 60 ms, p99=100ms,errors=1% is met', () => {
    const missed = judgeRun(base, parseSlo('p99=50ms'));
    expect(missed.ok).toBe(false);
    expect(missed.slo).toEqual([{ name: 'p99', objective: '≤ 50 ms', observed: '60 ms', ok: false }]);
    expect(missed.reasons).toEqual(['objective p99 ≤ 50 ms missed: 60 ms']);
    const met = judgeRun({ ...base, ok: 99, failed: 1 }, parseSlo('p99=100ms,errors=1%'));
    expect(met).toEqual({
      ok: true,
      reasons: [],
      slo: [
        { name: 'p99', objective: '≤ 100 ms', observed: '60 ms', ok: true },
        { name: 'errors', objective: '≤ 1 %', observed: '1 %', ok: true },
      ],
    });
  });

  it('refuses a malformed --slo', () => {
    expect(() => parseSlo('p98=5ms')).toThrow(/unknown objective/);
    expect(() => parseSlo('p99')).toThrow(/key=value/);
    expect(() => parseSlo('errors=150%')).toThrow(/percentage/);
    expect(parseSlo('p99=1.5s,errors=0.02')).toEqual({ latency: { p99: 1500 }, errors: 0.02 });
  });
});

describe('a failed run as reported', () => {
  const failed = () => {
    const r = fixtureReport({
      totals: { ...fixtureReport().totals, ok: 0, failed: 12800, eventsAcked: 0, achievedRate: 0, eventsPerSecond: 0, efficiency: 0, errorRate: 1 },
      errors: [{ key: '401 UNAUTHORIZED', count: 12800 }],
      verdict: { ok: false, reasons: ['12800 of 12800 requests failed (100 %): 401 UNAUTHORIZED ×12800'] },
    });
    if (r.delivery.checked) Object.assign(r.delivery, { acknowledged: 0, rows: 0, distinctIds: 0, reason: 'all 0 acknowledged events landed exactly once' });
    return r;
  };

  it('says FAILED and why on the first line of the summary, and no PASS for 0 acknowledged events', () => {
    const text = renderSummary(failed());
    expect(text.split('\n')[0]).toBe('verdict: FAILED: 12800 of 12800 requests failed (100 %): 401 UNAUTHORIZED ×12800');
    expect(text).toContain('delivery proof: NOTHING TO PROVE: no event was acknowledged');
    expect(text).not.toContain('PASS');
  });

  it('shows a red FAILED badge with the reason and no green "delivery proven" in the HTML report', () => {
    const html = renderHtml(failed());
    expect(html).toContain('<span class="badge red">FAILED</span>');
    expect(html).toContain('<strong>Run FAILED</strong><ul><li>12800 of 12800 requests failed (100 %): 401 UNAUTHORIZED ×12800</li></ul>');
    expect(html).not.toContain('delivery proven');
    expect(html).toContain('delivery: nothing acknowledged');
  });
});
