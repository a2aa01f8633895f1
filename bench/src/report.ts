import { renderFractions, type CeilingFractions } from './ceiling.ts';
import type { LatencySummary } from './histogram.ts';
import type { DeliveryProof } from './proof.ts';
import type { Profile } from './profile.ts';
import type { ResourceSample, ResourceSummary } from './resources.ts';
import { renderTable } from '@floodgate/tables';
import { verdictLine, type Verdict } from './verdict.ts';

/** The JSON report: everything the HTML report, `bench history` and `bench compare` show. */
export interface BenchReport {
  version: 1;
  runId: string;
  scenario: string;
  command: string;
  startedAt: string;
  finishedAt: string;
  /** Load time (phases), seconds; cool-downs between find-max steps are not counted. */
  loadSeconds: number;
  /** From each phase's start to its last answer (≥ loadSeconds): the time the answers took. */
  answerSeconds: number;
  wallSeconds: number;
  stopReason: 'completed' | 'interrupted' | 'max-events' | 'max-duration' | 'target-unreachable';
  interrupted: boolean;
  machine: { hostname: string; nproc: number; cpuModel: string; memGiB: number; node: string; platform: string };
  git: { commit: string; dirty: boolean };
  target: { kind: 'http' | 'ws'; url: string; batch: number; format: 'json' | 'ndjson'; gzip: boolean; connections: number; window: number; auth: boolean };
  load: { model: 'open' | 'closed'; threads: number; thinkMs: number; profile?: Profile; eventBytes: number; mix: Record<string, number> };
  totals: {
    /** Requests (HTTP) or messages (WebSocket) the profile asked for. */
    intended: number;
    sent: number;
    ok: number;
    failed: number;
    eventsSent: number;
    eventsAcked: number;
    /** Events of failed requests that may still have landed. */
    ambiguousEvents: number;
    /** Peak target rate, requests/s. */
    targetRate: number;
    /** Mean target rate over the load time, requests/s. */
    meanTargetRate: number;
    /** Requests sent per second of load time (the rate offered to the target). */
    offeredRate: number;
    /** Answers (ok or not) per second of the time the answers took. */
    answeredRate: number;
    /** OK answers per second of the time the answers took. */
    achievedRate: number;
    /** Events acknowledged per second of the time the answers took. */
    eventsPerSecond: number;
    /** Achieved rate / intended rate (≤ 1): lower when answers trail the load or fail. */
    efficiency: number;
    errorRate: number;
  };
  /** From the intended send time (open model) to the answer, OK answers only. */
  latencyMs: LatencySummary;
  /** From the actual send to the answer. */
  serviceMs: LatencySummary;
  latencyCurve: { percentile: number; ms: number }[];
  errors: { key: string; count: number }[];
  statuses: Record<string, number>;
  timeline: TimelinePoint[];
  findMax?: FindMaxResult;
  /** The run's rate as a fraction of this host's stored ceilings (`bench ceiling`). */
  ceilings?: CeilingFractions;
  resources: { samples: ResourceSample[]; summary: ResourceSummary[] };
  delivery: DeliveryProof | { checked: false; reason: string };
  files: { json: string; html: string };
  stored: boolean | string;
  /** Passed or failed, and why (reports stored before verdicts have none). */
  verdict?: Verdict;
}

export interface TimelinePoint {
  /** Seconds since t0 (end of the interval). */
  t: number;
  phase: number;
  targetRate: number;
  sentRate: number;
  okRate: number;
  errorRate: number;
  eventsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  inFlight: number;
}

export interface FindMaxStep {
  step: number;
  rate: number;
  eventsRate: number;
  durationS: number;
  intended: number;
  ok: number;
  failed: number;
  errorRate: number;
  achievedRate: number;
  efficiency: number;
  latencyMs: LatencySummary;
  held: boolean;
  why: string;
}

export interface FindMaxResult {
  objectiveP99Ms: number;
  maxErrorRate: number;
  minEfficiency: number;
  steps: FindMaxStep[];
  /** Highest step rate (requests/s) that held; 0 when none did. */
  highestHeldRate: number;
  highestHeldEventsPerSecond: number;
  /** The step that held at that rate. */
  held?: FindMaxStep;
  /** The lowest rate that failed, if any. */
  firstFailedRate?: number;
}

const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
const n1 = (v: number) => (Math.round(v * 10) / 10).toLocaleString('en-US', { maximumFractionDigits: 1 });
const ms = (v: number) => (v >= 100 ? `${n0(v)} ms` : `${(Math.round(v * 100) / 100).toFixed(2)} ms`);
const pct = (v: number) => `${(v * 100).toFixed(v > 0 && v < 0.001 ? 3 : 2)} %`;

/** The terminal summary (also reproduced in docs/bench.md). */
export function renderSummary(r: BenchReport): string {
  const t = r.totals;
  const unit = r.target.kind === 'ws' ? 'msg' : 'req';
  const out: string[] = [];
  // The verdict first: the reason a run failed is the first thing to read.
  if (r.verdict) out.push(verdictLine(r.verdict));
  out.push(`floodgate bench ${r.scenario} · run ${r.runId} · ${r.startedAt}`);
  out.push(
    `target ${r.target.kind} ${r.target.url} · ${r.target.batch} event(s)/${unit}${r.target.gzip ? ' gzip' : ''} · ${r.load.model} model · ${r.load.threads} load thread(s) · ${r.target.connections} connection(s)${r.target.kind === 'ws' ? ` · window ${r.target.window}` : ''}`,
  );
  out.push(`machine ${r.machine.hostname} · nproc ${r.machine.nproc} · ${r.machine.cpuModel} · the generator shares these cores with the system under test`);
  out.push(`load ${n1(r.loadSeconds)} s · answers over ${n1(r.answerSeconds ?? r.loadSeconds)} s · stop: ${r.stopReason}`);
  out.push('');
  const closed = r.load.model === 'closed';
  const rows: string[][] = [
    closed
      ? ['virtual users (closed model)', `${n0(t.meanTargetRate)} mean, ${n0(t.targetRate)} peak`]
      : [`target rate (${unit}/s)`, `${n0(t.meanTargetRate)} mean, ${n0(t.targetRate)} peak`],
    [`offered (${unit}/s sent over the load time)`, n0(t.offeredRate ?? t.achievedRate)],
    [`answered (${unit}/s over the time the answers took)`, n0(t.answeredRate ?? t.achievedRate)],
    [`achieved (${unit}/s ok)`, n0(t.achievedRate)],
    ['events/s acknowledged', n0(t.eventsPerSecond)],
    ['efficiency (achieved / intended rate)', closed ? 'n/a (closed model: the rate follows the answers)' : pct(t.efficiency)],
    [`${unit}s intended / sent`, `${n0(t.intended)} / ${n0(t.sent)}`],
    [`${unit}s ok / failed`, `${n0(t.ok)} / ${n0(t.failed)} (${pct(t.errorRate)})`],
    ['events sent / acknowledged', `${n0(t.eventsSent)} / ${n0(t.eventsAcked)}`],
  ];
  out.push(renderTable(['METRIC', 'VALUE'], rows));
  out.push('');
  const lat = (name: string, s: { p50: number; p90: number; p95: number; p99: number; p999: number; max: number }) => [
    name,
    ms(s.p50),
    ms(s.p90),
    ms(s.p95),
    ms(s.p99),
    ms(s.p999),
    ms(s.max),
  ];
  const latRows = [lat('latency (from intended send)', r.latencyMs), lat('service time (from actual send)', r.serviceMs)];
  if (r.delivery.checked && r.delivery.e2eMs.count > 0) latRows.push(lat('end to end (accepted → inserted)', r.delivery.e2eMs));
  out.push(renderTable(['', 'P50', 'P90', 'P95', 'P99', 'P99.9', 'MAX'], latRows, { alignRight: [false, true, true, true, true, true, true] }));
  if (r.verdict?.slo) {
    out.push('');
    out.push(renderTable(['OBJECTIVE', 'BOUND', 'OBSERVED', 'MET'], r.verdict.slo.map((c) => [c.name, c.objective, c.observed, c.ok ? 'yes' : 'NO'])));
  }
  if (r.errors.length > 0) {
    out.push('');
    out.push(renderTable(['ERROR', 'COUNT'], r.errors.map((e) => [e.key, n0(e.count)]), { alignRight: [false, true] }));
  }
  if (r.findMax) {
    const f = r.findMax;
    out.push('');
    out.push(`find-max: objective p99 ≤ ${f.objectiveP99Ms} ms, errors ≤ ${pct(f.maxErrorRate)}, efficiency ≥ ${pct(f.minEfficiency)}`);
    out.push(
      renderTable(
        ['STEP', `TARGET ${unit}/s`, 'EVENTS/S', `OK ${unit}/s`, 'ERRORS', 'P50', 'P99', 'MAX', 'HELD'],
        f.steps.map((s) => [
          String(s.step),
          n0(s.rate),
          n0(s.eventsRate),
          n0(s.achievedRate),
          pct(s.errorRate),
          ms(s.latencyMs.p50),
          ms(s.latencyMs.p99),
          ms(s.latencyMs.max),
          s.held ? 'yes' : `no: ${s.why}`,
        ]),
        { alignRight: [true, true, true, true, true, true, true, true, false] },
      ),
    );
    out.push(
      f.highestHeldRate > 0
        ? `highest rate that held: ${n0(f.highestHeldRate)} ${unit}/s = ${n0(f.highestHeldEventsPerSecond)} events/s (p99 ${ms(f.held!.latencyMs.p99)})`
        : 'no step held the objective',
    );
  }
  if (r.ceilings) {
    out.push('');
    out.push(...renderFractions(r.ceilings));
  }
  if (r.resources.summary.length > 0) {
    out.push('');
    out.push(
      renderTable(
        ['PROCESS', 'PIDS', 'CPU AVG', 'CPU MAX', 'RSS MAX'],
        r.resources.summary.map((s) => [s.role, String(s.pids.length), `${n1(s.cpuAvg)} %`, `${n1(s.cpuMax)} %`, `${n0(s.rssMaxMiB)} MiB`]),
        { alignRight: [false, true, true, true, true] },
      ),
    );
    out.push('(cpu: % of one core; 100 % × nproc is the whole machine; other: everything else running on the machine)');
  }
  out.push('');
  const d = r.delivery;
  if (!d.checked) out.push(`delivery proof: not checked (${d.reason})`);
  else if (d.acknowledged === 0) out.push('delivery proof: NOTHING TO PROVE: no event was acknowledged');
  else {
    out.push(
      `delivery proof: ${d.ok ? (d.exact ? 'PASS' : 'PASS (with extra rows)') : 'FAIL'}: acknowledged ${n0(d.acknowledged)}, rows ${n0(d.rows)}, distinct ids ${n0(d.distinctIds)}, duplicate ids ${n0(d.duplicateIds)}, missing ${n0(d.missing)} (lag 0 after ${n1(d.lagWaitMs / 1000)} s${d.lagTimedOut ? `; TIMED OUT with lag ${d.lagAtEnd}` : ''})`,
    );
    out.push(`  ${d.reason}`);
  }
  out.push(`report: ${r.files.json}`);
  out.push(`        ${r.files.html}`);
  return out.join('\n');
}
