import { FloodgateError } from '@floodgate/errors';
import { parseDuration } from './guard.ts';
import type { LatencySummary } from './histogram.ts';

/**
 * The run's verdict: one line an operator (or a script, through the exit code) can trust. A run
 * whose requests mostly failed is a failed run whatever its delivery proof says (0 acknowledged
 * events "landing exactly once" proves nothing), and an objective given with `--slo` is judged.
 */

/** Above this share of failed answers a run is failed even without an objective ("mostly failed"). */
export const MOSTLY_FAILED = 0.5;

export type LatencyKey = 'p50' | 'p90' | 'p95' | 'p99' | 'p999' | 'max';

export interface Slo {
  /** Latency bounds (from the intended send time, ok answers), ms. */
  latency: Partial<Record<LatencyKey, number>>;
  /** Highest share of failed answers (0..1). */
  errors?: number;
}

export interface SloCheck {
  name: string;
  objective: string;
  observed: string;
  ok: boolean;
}

export interface Verdict {
  ok: boolean;
  /** Why it failed, most important first; empty when it passed. */
  reasons: string[];
  /** One line per objective of `--slo`, when given. */
  slo?: SloCheck[];
}

const LATENCY_KEYS: LatencyKey[] = ['p50', 'p90', 'p95', 'p99', 'p999', 'max'];

/** `p99=50ms,p50=5ms,errors=1%`: latency bounds as durations, errors as a percentage or a share. */
export function parseSlo(text: string): Slo {
  const slo: Slo = { latency: {} };
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, value] = part.split('=').map((s) => s.trim());
    if (!key || !value) throw new FloodgateError('CONFIG_INVALID', `--slo ${text}: expected key=value pairs such as p99=50ms,errors=1%`);
    if (key === 'errors') {
      const share = value.endsWith('%') ? Number(value.slice(0, -1)) / 100 : Number(value);
      if (!Number.isFinite(share) || share < 0 || share > 1) throw new FloodgateError('CONFIG_INVALID', `--slo errors=${value}: use a percentage such as 1% (or a share 0..1)`);
      slo.errors = share;
    } else if ((LATENCY_KEYS as string[]).includes(key)) {
      let ms: number;
      try {
        ms = parseDuration(value);
      } catch {
        throw new FloodgateError('CONFIG_INVALID', `--slo ${key}=${value}: not a duration (e.g. 50ms)`);
      }
      if (!(ms > 0)) throw new FloodgateError('CONFIG_INVALID', `--slo ${key}=${value}: must be > 0`);
      slo.latency[key as LatencyKey] = ms;
    } else {
      throw new FloodgateError('CONFIG_INVALID', `--slo ${key}: unknown objective; use ${LATENCY_KEYS.join(', ')} or errors`);
    }
  }
  if (Object.keys(slo.latency).length === 0 && slo.errors === undefined) throw new FloodgateError('CONFIG_INVALID', '--slo names no objective');
  return slo;
}

export interface VerdictInput {
  unit: 'request' | 'message';
  stopReason: string;
  sent: number;
  ok: number;
  failed: number;
  eventsAcked: number;
  errors: { key: string; count: number }[];
  latencyMs: LatencySummary;
  delivery: { checked: false; reason: string } | { checked: true; ok: boolean; reason: string; acknowledged: number };
}

const pct = (v: number) => `${(Math.round(v * 10_000) / 100).toString()} %`;
const msText = (v: number) => `${Math.round(v * 100) / 100} ms`;

export function judgeRun(r: VerdictInput, slo?: Slo): Verdict {
  const reasons: string[] = [];
  const answered = r.ok + r.failed;
  const errorShare = answered === 0 ? 0 : r.failed / answered;
  const topErrors = r.errors.slice(0, 3).map((e) => `${e.key} ×${e.count}`).join(', ');
  if (r.stopReason === 'target-unreachable') reasons.push('the load could not run (target unreachable)');
  if (r.sent === 0) reasons.push(`no ${r.unit} was sent`);
  else if (answered > 0 && errorShare > MOSTLY_FAILED) {
    reasons.push(`${r.failed} of ${answered} ${r.unit}s failed (${pct(errorShare)})${topErrors ? `: ${topErrors}` : ''}`);
  } else if (r.eventsAcked === 0) reasons.push('no event was acknowledged');
  if (r.delivery.checked && !r.delivery.ok) reasons.push(`delivery proof failed: ${r.delivery.reason}`);
  let checks: SloCheck[] | undefined;
  if (slo) {
    checks = [];
    for (const key of LATENCY_KEYS) {
      const bound = slo.latency[key];
      if (bound === undefined) continue;
      // No ok answer means no latency to judge: the objective is not met.
      const observed = r.latencyMs.count > 0 ? r.latencyMs[key] : Number.POSITIVE_INFINITY;
      checks.push({ name: key, objective: `≤ ${msText(bound)}`, observed: Number.isFinite(observed) ? msText(observed) : 'no ok answer', ok: observed <= bound });
    }
    if (slo.errors !== undefined) {
      checks.push({ name: 'errors', objective: `≤ ${pct(slo.errors)}`, observed: pct(errorShare), ok: answered > 0 && errorShare <= slo.errors });
    }
    for (const c of checks) if (!c.ok) reasons.push(`objective ${c.name} ${c.objective} missed: ${c.observed}`);
  }
  return { ok: reasons.length === 0, reasons, ...(checks ? { slo: checks } : {}) };
}

/** The verdict as the first line of the summary. */
export function verdictLine(v: Verdict): string {
  if (v.ok) return `verdict: PASSED${v.slo ? ` (objectives met: ${v.slo.map((c) => `${c.name} ${c.observed} ${c.objective}`).join(', ')})` : ''}`;
  return `verdict: FAILED: ${v.reasons.join('; ')}`;
}
