import type { ClickHouseClient } from '@clickhouse/client';
import { migrate } from '@floodgate/clickhouse';
import { FloodgateError } from '@floodgate/errors';
import { renderTable } from '@floodgate/tables';
import type { BenchReport } from './report.ts';
import type { Ceiling } from './ceiling.ts';

/** One row of `bench_runs` (migration 20): the headline numbers, plus the whole JSON report. */
export interface BenchRunRow {
  run_id: string;
  started_at: string;
  finished_at: string;
  scenario: string;
  target: string;
  url: string;
  model: string;
  batch: number;
  gzip: number;
  threads: number;
  connections: number;
  target_rate: number;
  achieved_rate: number;
  events_per_second: number;
  efficiency: number;
  requests: number;
  ok: number;
  errors: number;
  events_acked: number;
  p50_ms: number;
  p90_ms: number;
  p95_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  e2e_p50_ms: number;
  e2e_p99_ms: number;
  e2e_max_ms: number;
  delivery: string;
  delivered_rows: number;
  duplicate_ids: number;
  max_held_rate: number;
  interrupted: number;
  git_commit: string;
  host: string;
  nproc: number;
  report: string;
}

const chTime = (iso: string) => iso.replace('T', ' ').replace('Z', '');

export function toRow(r: BenchReport): BenchRunRow {
  const d = r.delivery;
  return {
    run_id: r.runId,
    started_at: chTime(r.startedAt),
    finished_at: chTime(r.finishedAt),
    scenario: r.scenario,
    target: r.target.kind,
    url: r.target.url,
    model: r.load.model,
    batch: r.target.batch,
    gzip: r.target.gzip ? 1 : 0,
    threads: r.load.threads,
    connections: r.target.connections,
    target_rate: r.totals.meanTargetRate,
    achieved_rate: r.totals.achievedRate,
    events_per_second: r.totals.eventsPerSecond,
    efficiency: r.totals.efficiency,
    requests: r.totals.sent,
    ok: r.totals.ok,
    errors: r.totals.failed,
    events_acked: r.totals.eventsAcked,
    p50_ms: r.latencyMs.p50,
    p90_ms: r.latencyMs.p90,
    p95_ms: r.latencyMs.p95,
    p99_ms: r.latencyMs.p99,
    p999_ms: r.latencyMs.p999,
    max_ms: r.latencyMs.max,
    e2e_p50_ms: d.checked ? d.e2eMs.p50 : 0,
    e2e_p99_ms: d.checked ? d.e2eMs.p99 : 0,
    e2e_max_ms: d.checked ? d.e2eMs.max : 0,
    delivery: d.checked ? (d.ok ? (d.exact ? 'pass' : 'pass-extra') : 'fail') : 'unchecked',
    delivered_rows: d.checked ? d.rows : 0,
    duplicate_ids: d.checked ? d.duplicateIds : 0,
    max_held_rate: r.findMax?.highestHeldRate ?? 0,
    interrupted: r.interrupted ? 1 : 0,
    git_commit: r.git.commit + (r.git.dirty ? '+dirty' : ''),
    host: r.machine.hostname,
    nproc: r.machine.nproc,
    report: JSON.stringify(r),
  };
}

/** Stores a run (the table is created by the migrations if missing). */
export async function storeRun(client: ClickHouseClient, database: string, report: BenchReport): Promise<void> {
  await migrate(client, database);
  await client.insert({ table: `${database}.bench_runs`, values: [toRow(report)], format: 'JSONEachRow' });
}

export type RunListRow = Omit<BenchRunRow, 'report'>;

const num = (v: unknown) => Number(v);

function normalise(row: Record<string, unknown>): RunListRow {
  const out: Record<string, unknown> = { ...row };
  for (const [k, v] of Object.entries(out)) {
    if (typeof v === 'string' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v) && !['run_id', 'git_commit', 'host', 'url'].includes(k)) out[k] = num(v);
  }
  return out as unknown as RunListRow;
}

export async function listRuns(client: ClickHouseClient, database: string, limit: number, scenario?: string): Promise<RunListRow[]> {
  const result = await client.query({
    query: `SELECT * EXCEPT report FROM ${database}.bench_runs FINAL
            WHERE {scenario:String} = '' OR scenario = {scenario:String}
            ORDER BY started_at DESC LIMIT {limit:UInt32}`,
    query_params: { limit, scenario: scenario ?? '' },
    format: 'JSONEachRow',
  });
  return (await result.json<Record<string, unknown>>()).map(normalise);
}

/**
 * A stored run as `bench history --json` prints it: the CLI's one JSON convention (camelCase keys,
 * ISO-8601 times, numbers as numbers), not the table's column names.
 */
export function historyJson(row: RunListRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    const camel = key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    // ClickHouse's DateTime64 text ('2026-01-01 00:00:00.000') is UTC.
    out[camel] = key.endsWith('_at') && typeof value === 'string' && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(value) ? new Date(`${value.replace(' ', 'T')}Z`).toISOString() : value;
  }
  return out;
}

/** A run by id or unique id prefix. */
export async function getRun(client: ClickHouseClient, database: string, id: string): Promise<BenchReport> {
  const result = await client.query({
    query: `SELECT run_id, report FROM ${database}.bench_runs FINAL WHERE startsWith(run_id, {id:String}) ORDER BY run_id LIMIT 2`,
    query_params: { id },
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ run_id: string; report: string }>();
  if (rows.length === 0) throw new FloodgateError('NOT_FOUND', `no bench run ${id} in ${database}.bench_runs (see \`floodgate bench history\`)`);
  if (rows.length > 1 && rows[0]!.run_id !== id) {
    throw new FloodgateError('CONFIG_INVALID', `${id} matches several runs (${rows.map((r) => r.run_id).join(', ')}, ...); give more of the id`);
  }
  return JSON.parse(rows[0]!.report) as BenchReport;
}

const f0 = (v: number) => Math.round(v).toLocaleString('en-US');
const f2 = (v: number) => (Math.round(v * 100) / 100).toString();

export function renderHistory(rows: RunListRow[]): string {
  if (rows.length === 0) return 'no bench runs stored yet';
  return renderTable(
    ['RUN', 'STARTED (UTC)', 'SCENARIO', 'TARGET', 'BATCH', 'RATE', 'OK/S', 'EVENTS/S', 'P50 ms', 'P99 ms', 'E2E P99', 'ERRORS', 'DELIVERY', 'MAX HELD', 'COMMIT'],
    rows.map((r) => [
      r.run_id,
      String(r.started_at).slice(0, 19),
      r.scenario + (r.interrupted ? ' (int)' : ''),
      r.target,
      String(r.batch),
      f0(r.target_rate),
      f0(r.achieved_rate),
      f0(r.events_per_second),
      f2(r.p50_ms),
      f2(r.p99_ms),
      f0(r.e2e_p99_ms),
      f0(r.errors),
      r.delivery,
      r.max_held_rate ? f0(r.max_held_rate) : '-',
      r.git_commit,
    ]),
    { alignRight: [false, false, false, false, true, true, true, true, true, true, true, true, false, true, false] },
  );
}

/** Side by side, with B's change against A where lower or higher is better. */
export function renderCompare(a: BenchReport, b: BenchReport): string {
  const d = (x: BenchReport) => (x.delivery.checked ? x.delivery : undefined);
  const metrics: [string, (r: BenchReport) => number, 'higher' | 'lower' | ''][] = [
    ['target rate (mean, /s)', (r) => r.totals.meanTargetRate, ''],
    ['achieved ok/s', (r) => r.totals.achievedRate, 'higher'],
    ['events/s acknowledged', (r) => r.totals.eventsPerSecond, 'higher'],
    ['efficiency %', (r) => r.totals.efficiency * 100, 'higher'],
    ['error rate %', (r) => r.totals.errorRate * 100, 'lower'],
    ['latency p50 ms', (r) => r.latencyMs.p50, 'lower'],
    ['latency p90 ms', (r) => r.latencyMs.p90, 'lower'],
    ['latency p99 ms', (r) => r.latencyMs.p99, 'lower'],
    ['latency p99.9 ms', (r) => r.latencyMs.p999, 'lower'],
    ['latency max ms', (r) => r.latencyMs.max, 'lower'],
    ['e2e p50 ms', (r) => d(r)?.e2eMs.p50 ?? NaN, 'lower'],
    ['e2e p99 ms', (r) => d(r)?.e2eMs.p99 ?? NaN, 'lower'],
    ['find-max held /s', (r) => r.findMax?.highestHeldRate ?? NaN, 'higher'],
  ];
  for (const s of a.resources.summary) {
    if (b.resources.summary.some((x) => x.role === s.role)) {
      metrics.push([`cpu avg % ${s.role}`, (r) => r.resources.summary.find((x) => x.role === s.role)?.cpuAvg ?? NaN, '']);
      metrics.push([`rss max MiB ${s.role}`, (r) => r.resources.summary.find((x) => x.role === s.role)?.rssMaxMiB ?? NaN, '']);
    }
  }
  const rows = metrics
    .map(([name, get, better]) => {
      const va = get(a);
      const vb = get(b);
      if (Number.isNaN(va) && Number.isNaN(vb)) return undefined;
      let delta = '';
      if (Number.isFinite(va) && Number.isFinite(vb) && va !== 0) {
        const change = ((vb - va) / Math.abs(va)) * 100;
        const good = better === '' || Math.abs(change) < 1 ? '' : (better === 'higher') === change > 0 ? ' better' : ' worse';
        delta = `${change >= 0 ? '+' : ''}${change.toFixed(1)} %${good}`;
      }
      const show = (v: number) => (Number.isNaN(v) ? '-' : v >= 100 ? f0(v) : f2(v));
      return [name, show(va), show(vb), delta];
    })
    .filter((r): r is string[] => r !== undefined);
  const head = [
    `A ${a.runId}: ${a.scenario} ${a.target.kind} batch ${a.target.batch}${a.target.gzip ? ' gzip' : ''}, ${a.startedAt}, commit ${a.git.commit}${a.git.dirty ? '+dirty' : ''}`,
    `B ${b.runId}: ${b.scenario} ${b.target.kind} batch ${b.target.batch}${b.target.gzip ? ' gzip' : ''}, ${b.startedAt}, commit ${b.git.commit}${b.git.dirty ? '+dirty' : ''}`,
    '',
  ];
  const delivery = (r: BenchReport) => (r.delivery.checked ? `${r.delivery.ok ? 'pass' : 'FAIL'} (${r.delivery.rows}/${r.delivery.acknowledged} rows, ${r.delivery.duplicateIds} dup)` : 'unchecked');
  rows.push(['delivery', delivery(a), delivery(b), '']);
  return head.join('\n') + renderTable(['METRIC', 'A', 'B', 'B VS A'], rows, { alignRight: [false, true, true, false] });
}

/** Stores ceilings (`bench ceiling`; the table is created by the migrations if missing). */
export async function storeCeilings(client: ClickHouseClient, database: string, ceilings: Ceiling[]): Promise<void> {
  await migrate(client, database);
  await client.insert({
    table: `${database}.bench_ceilings`,
    values: ceilings.map((c) => ({
      id: c.id,
      measured_at: chTime(c.measuredAt),
      kind: c.kind,
      batch: c.batch,
      rate: c.rate,
      events_per_second: c.eventsPerSecond,
      p99_ms: c.p99Ms,
      record_size: c.recordSize,
      host: c.host,
      nproc: c.nproc,
      git_commit: c.gitCommit,
      detail: JSON.stringify(c.detail),
    })),
    format: 'JSONEachRow',
  });
}

/**
 * The newest ceiling of a kind measured on `host` (HTTP: at `batch` events per request); undefined
 * when none is stored (or the table does not exist yet).
 */
export async function latestCeiling(client: ClickHouseClient, database: string, kind: 'http' | 'kafka', host: string, batch?: number): Promise<Ceiling | undefined> {
  const exists = await client.query({ query: 'EXISTS TABLE {db:Identifier}.bench_ceilings', query_params: { db: database }, format: 'JSONEachRow' });
  const flag = (await exists.json<Record<string, unknown>>())[0];
  if (!flag || Number(Object.values(flag)[0]) !== 1) return undefined;
  const result = await client.query({
    query: `SELECT * FROM ${database}.bench_ceilings FINAL
            WHERE kind = {kind:String} AND host = {host:String} AND ({batch:Int64} < 0 OR batch = {batch:Int64})
            ORDER BY measured_at DESC LIMIT 1`,
    query_params: { kind, host, batch: batch ?? -1 },
    format: 'JSONEachRow',
  });
  const row = (await result.json<Record<string, unknown>>())[0];
  if (!row) return undefined;
  return {
    id: String(row.id),
    measuredAt: new Date(`${String(row.measured_at).replace(' ', 'T')}Z`).toISOString(),
    kind,
    batch: num(row.batch),
    rate: num(row.rate),
    eventsPerSecond: num(row.events_per_second),
    p99Ms: num(row.p99_ms),
    recordSize: num(row.record_size),
    host: String(row.host),
    nproc: num(row.nproc),
    gitCommit: String(row.git_commit),
    detail: JSON.parse(String(row.detail)) as Record<string, unknown>,
  };
}
