/**
 * `npm run test:chaos`: the fault-injection suite (docs/guarantees.md). Starts a private stack
 * (3 Kafka brokers, NATS, ClickHouse) in its own FLOODGATE_HOME on free ports, runs gateway + sink
 * with `floodgate start`, and for each fault, 3 times: steady HTTP and WebSocket load from
 * `floodgate bench`, the fault injected under it, then the bench's delivery proof (every
 * acknowledged event in ClickHouse exactly once). Prints one row per fault and run; exits 1 on any
 * missing or duplicated row, a failed proof, or a fault the pipeline did not recover from.
 *
 *   npm run test:chaos [-- --runs 3] [-- --only 1-sink-kill,8-broker-lost] [-- --keep]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderTable } from '@floodgate/tables';
import { createWorld, type ChaosWorld } from './env.ts';
import { FAULTS, type Fault, type FaultContext } from './faults.ts';
import { KafkaWatch, sampleLag } from './kafka-watch.ts';
import { bringUp, exitWith, gatewayReady, stopOnInterrupt, tearDown, type RunningWorld } from './pipeline.ts';
import { gatewayPids, runCli, sinkPids, waitFor } from './procs.ts';

const WARMUP_MS = 6_000;

interface BenchDelivery {
  checked?: boolean;
  acknowledged: number;
  ambiguous: number;
  rows: number;
  distinctIds: number;
  duplicateIds: number;
  missing: number;
  extra: number;
  ok: boolean;
  lagTimedOut: boolean;
  reason: string;
}

interface BenchReport {
  runId: string;
  loadSeconds: number;
  delivery?: BenchDelivery;
  timeline: { t: number; okRate: number; eventsPerSecond: number }[];
  totals: { ok: number; failed: number; eventsAcked: number };
  statuses: Record<string, number>;
  errors: unknown[];
}

export interface RunResult {
  fault: string;
  run: number;
  acknowledged: number;
  rows: number;
  missing: number;
  duplicates: number;
  ambiguous: number;
  maxLag: number;
  recoverSeconds: number | null;
  ok: boolean;
  what: string;
  problems: string[];
}

function args() {
  const argv = process.argv.slice(2);
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    runs: Number(value('--runs') ?? 3),
    only: value('--only')?.split(',').filter(Boolean),
    keep: argv.includes('--keep'),
    out: value('--out'),
  };
}

const say = (line: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

async function bench(world: ChaosWorld, target: 'http' | 'ws', seconds: number, apiKey: string, tag: string): Promise<BenchReport> {
  const load =
    target === 'http'
      ? ['--rate', '20', '--batch', '5', '--connections', '8']
      : ['--rate', '10', '--batch', '5', '--connections', '2', '--window', '8'];
  const out = path.join(world.home, 'bench', tag);
  const r = await runCli(
    ['bench', 'constant', '--url', `http://127.0.0.1:${world.ports.gateway}`, '--target', target, ...load, '--threads', '1', '--duration', `${seconds}s`,
      '--timeout', '15s', '--proof-timeout', '300s', '--no-store', '--quiet', '--json', '--out', out],
    { ...world.env, FLOODGATE_API_KEY: apiKey },
    path.join(world.home, 'logs', 'chaos-bench.log'),
    600_000,
  );
  // The report file, not stdout: a client library may print to stdout while a broker is down.
  try {
    return JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as BenchReport;
  } catch {
    throw new Error(`bench ${target} (exit ${r.code}) wrote no report: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  }
}

/** Ready for the next run: all replicas in sync, one sink consuming, two gateway processes. */
async function settle(ctx: Omit<FaultContext, 'run'>): Promise<void> {
  await waitFor('all partitions fully replicated', () => ctx.watch.fullyReplicated().catch(() => false), 180_000, 1_000);
  await waitFor('2 gateway processes', () => gatewayPids(ctx.startPid).workers.length === 2, 60_000);
  await waitFor('1 sink process', () => sinkPids(ctx.startPid).length === 1, 60_000);
  await gatewayReady(ctx.world);
}

async function runOnce(fault: Fault, ctx: FaultContext, apiKey: string): Promise<RunResult> {
  const problems: string[] = [];
  const sampler = sampleLag(ctx.watch);
  const tag = `${fault.id}-${ctx.run}`;
  const benches = Promise.allSettled([bench(ctx.world, 'http', fault.loadSeconds, apiKey, `${tag}-http`), bench(ctx.world, 'ws', fault.loadSeconds, apiKey, `${tag}-ws`)]);
  await sleep(WARMUP_MS);
  let what = '';
  let clearedAt = Date.now();
  const injectedAt = Date.now();
  try {
    what = await fault.inject(ctx);
    // A lost broker stays lost: recovery is measured from the loss.
    clearedAt = fault.restore ? injectedAt : Date.now();
  } catch (error) {
    problems.push(`fault did not clear: ${(error as Error).message}`);
  }
  const caughtUp = sampler.caughtUp(clearedAt, 300_000);
  const reports = await benches;
  const recoveredAt = await caughtUp;
  sampler.stop();
  let acknowledged = 0, rows = 0, missing = 0, duplicates = 0, ambiguous = 0;
  for (const [i, r] of reports.entries()) {
    const target = i === 0 ? 'http' : 'ws';
    if (r.status === 'rejected') {
      problems.push(`${target}: ${(r.reason as Error).message}`);
      continue;
    }
    const d = r.value.delivery;
    if (!d?.checked) {
      problems.push(`${target}: no delivery proof`);
      continue;
    }
    acknowledged += d.acknowledged;
    rows += d.rows;
    missing += d.missing;
    duplicates += d.duplicateIds;
    ambiguous += d.ambiguous;
    if (d.acknowledged === 0) problems.push(`${target}: nothing acknowledged`);
    if (!d.ok || d.missing > 0 || d.duplicateIds > 0) problems.push(`${target}: ${d.reason}`);
    if (d.lagTimedOut) problems.push(`${target}: consumer lag did not reach 0 within the proof timeout`);
    if (fault.restore) {
      // Ingest must continue with a broker lost: acknowledged events in the last 8 s of load.
      const late = r.value.timeline.filter((p) => p.t > r.value.loadSeconds - 8).reduce((s, p) => s + p.eventsPerSecond, 0);
      if (late === 0) problems.push(`${target}: no event acknowledged in the last 8 s of load after the broker was lost`);
    }
  }
  if (recoveredAt === undefined) problems.push('the sink never consumed what was produced before the fault cleared');
  if (fault.restore) await fault.restore(ctx).catch((e: Error) => problems.push(`restore failed: ${e.message}`));
  return {
    fault: fault.id,
    run: ctx.run,
    acknowledged,
    rows,
    missing,
    duplicates,
    ambiguous,
    maxLag: sampler.max(),
    recoverSeconds: recoveredAt === undefined ? null : Math.round((recoveredAt - clearedAt) / 100) / 10,
    ok: problems.length === 0,
    what,
    problems,
  };
}

export function renderResults(results: RunResult[]): string {
  return renderTable(
    ['FAULT', 'RUN', 'ACKED', 'ROWS', 'MISSING', 'DUPLICATES', 'AMBIGUOUS', 'MAX LAG', 'RECOVER S', 'RESULT'],
    results.map((r) => [
      r.fault,
      String(r.run),
      String(r.acknowledged),
      String(r.rows),
      String(r.missing),
      String(r.duplicates),
      String(r.ambiguous),
      String(r.maxLag),
      r.recoverSeconds === null ? 'never' : r.recoverSeconds.toFixed(1),
      r.ok ? 'PASS' : 'FAIL',
    ]),
  );
}

async function main(): Promise<number> {
  const opts = args();
  const faults = opts.only ? FAULTS.filter((f) => opts.only!.includes(f.id)) : FAULTS;
  if (faults.length === 0) throw new Error(`--only matches no fault; faults: ${FAULTS.map((f) => f.id).join(', ')}`);
  const started = Date.now();
  const world = await createWorld();
  mkdirSync(path.join(world.home, 'logs'), { recursive: true });
  say(`private stack in ${world.home} (jar cache ${world.cache}); brokers ${world.brokers.join(',')}, gateway :${world.ports.gateway}`);
  let running: RunningWorld | undefined;
  stopOnInterrupt(world, () => running, say);
  const watch = new KafkaWatch(world.brokers);
  const results: RunResult[] = [];
  let failed = true;
  try {
    running = await bringUp(world, say);
    const { startPid, apiKey, log } = running;
    const base = { world, startPid, watch, log };
    for (const fault of faults) {
      for (let run = 1; run <= opts.runs; run++) {
        running.assertRunning();
        await settle(base);
        say(`${fault.id} run ${run}: ${fault.title}`);
        const result = await runOnce(fault, { ...base, run }, apiKey);
        results.push(result);
        say(`${fault.id} run ${run}: ${result.ok ? 'PASS' : 'FAIL'} — ${result.what}${result.problems.length ? `; ${result.problems.join('; ')}` : ''} (acked ${result.acknowledged}, rows ${result.rows}, ambiguous ${result.ambiguous}, max lag ${result.maxLag}, recovered ${result.recoverSeconds ?? 'never'} s)`);
      }
    }
    failed = results.some((r) => !r.ok);
  } finally {
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    if (results.length > 0) {
      process.stdout.write(`\nfloodgate chaos suite, ${new Date().toISOString()}, ${minutes} min, private stack with 3 Kafka brokers (RF 3, min ISR 2)\n`);
      process.stdout.write(`${renderResults(results)}\n`);
      for (const r of results.filter((x) => !x.ok)) process.stdout.write(`FAIL ${r.fault} run ${r.run}: ${r.problems.join('; ')}\n`);
      const json = JSON.stringify({ finishedAt: new Date().toISOString(), minutes: Number(minutes), results }, null, 2);
      writeFileSync(path.join(world.home, 'chaos-results.json'), json);
      if (opts.out) writeFileSync(opts.out, json);
    }
    await watch.close();
    if (!opts.keep) {
      await tearDown(world, running, failed);
      if (failed) say(`kept ${world.home} (logs, bench reports) for the failure`);
    }
  }
  return failed ? 1 : 0;
}

exitWith(main(), say);
