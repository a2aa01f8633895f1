import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClickHouse } from '@floodgate/clickhouse';
import { FloodgateError } from '@floodgate/errors';
import { createKafka } from '@floodgate/kafka';
import type { Admin } from 'kafkajs';
import { createLogger } from '@floodgate/logging';
import { checkDuration, checkTarget, formatDuration } from './guard.ts';
import { createHistogram, percentileCurve, summarize } from './histogram.ts';
import { renderHtml } from './html.ts';
import type { LoadWorkerData } from './load-worker.ts';
import type { BodyFormat, EventKind } from './payload.ts';
import { ArrivalCurve, peakOf, profileDurationMs, scaleProfile, valueAt, type Profile } from './profile.ts';
import { consumerLag, proveDelivery } from './proof.ts';
import type { BenchReport, FindMaxResult, FindMaxStep, TimelinePoint } from './report.ts';
import { ResourceSampler } from './resources.ts';
import { latestCeiling, storeRun } from './store.ts';
import { ceilingFractions } from './ceiling.ts';

/**
 * The bench's own log (the Kafka client's warnings while a broker is down, among others): on
 * stderr, because stdout carries the report and `--json` must print nothing but JSON there.
 */
export function benchLogger(level = process.env.LOG_LEVEL ?? 'warn') {
  return createLogger('bench', { level }, process.stderr);
}
import { Collector } from './stats.ts';
import { judgeRun, type Slo } from './verdict.ts';
import { checkApiKey } from './preflight.ts';
import { LoadThreads } from './threads.ts';
import { nowMs } from './scheduler.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface FindMaxOptions {
  /** First step's rate, requests/s. */
  startRate: number;
  /** Each held step multiplies the rate by this until a step fails. */
  factor: number;
  maxRate: number;
  stepMs: number;
  cooldownMs: number;
  objectiveP99Ms: number;
  maxErrorRate: number;
  minEfficiency: number;
  /** Bisection steps between the last held and the first failed rate. */
  refineSteps: number;
  maxSteps: number;
  /** A first phase at the start rate that is not judged (connections, JIT, producer batches warm up). */
  warmupMs: number;
}

export interface StackTarget {
  kafkaBrokers: string[];
  topic: string;
  groupId: string;
  clickhouseUrl: string;
  clickhouseUser: string;
  clickhousePassword: string;
  database: string;
  table: string;
  floodgateHome: string;
}

export interface BenchOptions {
  scenario: string;
  model: 'open' | 'closed';
  /** Rate (open) or virtual users (closed) over time; unused by find-max. */
  profile?: Profile;
  findMax?: FindMaxOptions;
  thinkMs: number;
  target: 'http' | 'ws';
  url: string;
  batch: number;
  format: BodyFormat;
  gzip: boolean;
  /** Total over all threads. */
  connections: number;
  window: number;
  apiKey?: string;
  timeoutMs: number;
  threads: number;
  eventBytes: number;
  mix: Partial<Record<EventKind, number>>;
  seed: number;
  poolSize: number;
  maxDurationMs: number;
  allowLong: boolean;
  allowRemote: boolean;
  /** Events the run may send at most. */
  maxEvents: number;
  /** Requests that may wait inside one thread before arrivals are dropped. */
  maxQueued: number;
  drainMs: number;
  proof: boolean;
  proofTimeoutMs: number;
  store: boolean;
  outDir?: string;
  stack: StackTarget;
  command: string;
  runId?: string;
  /** `--slo`: objectives the run is judged against (pass/fail line, exit code). */
  slo?: Slo;
  /** Ask the gateway whether it takes the API key before sending any load (default true). */
  preflight?: boolean;
  /** Read the stored ceilings and report the run's fractions of them (default true). */
  ceilings?: boolean;
}

export interface RunHooks {
  /** Aborted: stop the load now, then prove, report and store as usual. */
  stop?: AbortSignal;
  /** Aborted: skip (or stop waiting for) the delivery proof. */
  skipProof?: AbortSignal;
  say?: (line: string) => void;
  /** A live progress line; `final` after the load ends. */
  progress?: (line: string) => void;
}

export function newRunId(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}-${randomBytes(2).toString('hex')}`;
}

function gitInfo(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: '', dirty: false };
  }
}

function machineInfo(): BenchReport['machine'] {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    nproc: os.availableParallelism?.() ?? cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

const fmt = (v: number) => Math.round(v).toLocaleString('en-US');
const fmtMs = (v: number) => (v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`);

/** Checks the guard rails before anything is sent. */
export function validateOptions(o: BenchOptions): void {
  checkTarget(o.url, o.allowRemote);
  if (o.findMax) {
    const f = o.findMax;
    const planned = f.warmupMs + f.maxSteps * (f.stepMs + f.cooldownMs);
    checkDuration(Math.min(planned, o.maxDurationMs), o.maxDurationMs, o.allowLong);
    if (f.startRate <= 0 || f.factor <= 1 || f.maxRate < f.startRate) {
      throw new FloodgateError('CONFIG_INVALID', 'find-max needs --start-rate > 0, --factor > 1 and --max-rate ≥ --start-rate');
    }
  } else {
    if (!o.profile || o.profile.stages.length === 0) throw new FloodgateError('CONFIG_INVALID', 'the scenario has no stages');
    checkDuration(profileDurationMs(o.profile), o.maxDurationMs, o.allowLong);
    if (o.model === 'open') {
      const planned = new ArrivalCurve(o.profile).total * o.batch;
      if (planned > o.maxEvents) {
        throw new FloodgateError('CONFIG_INVALID', `the scenario would send about ${fmt(planned)} events, more than --max-events ${fmt(o.maxEvents)}`);
      }
    }
  }
  if (o.batch < 1 || o.threads < 1 || o.connections < 1 || o.window < 1) {
    throw new FloodgateError('CONFIG_INVALID', '--batch, --threads, --connections and --window must be ≥ 1');
  }
}

interface PhaseInfo {
  phase: number;
  startAtMs: number;
  profile: Profile;
  model: 'open' | 'closed';
}

export async function runBench(o: BenchOptions, hooks: RunHooks = {}): Promise<BenchReport> {
  validateOptions(o);
  const say = hooks.say ?? (() => {});
  // A missing or refused API key is said before the run starts, not found in 20,000 × 401 after it.
  if (o.preflight !== false) await checkApiKey(o.url, o.apiKey, o.timeoutMs, say);
  const runId = o.runId ?? newRunId();
  const outDir = o.outDir ?? path.join(o.stack.floodgateHome, 'bench', runId);
  mkdirSync(outDir, { recursive: true });
  const startedAt = new Date();
  // The run's t = 0, fixed once the load threads are up (until then, resource samples count from here).
  let t0 = nowMs() + 500;
  const threads = o.model === 'closed' && o.profile ? Math.max(1, Math.min(o.threads, Math.ceil(peakOf(o.profile)))) : o.threads;
  const perThreadConnections = Math.max(1, Math.ceil(o.connections / threads));
  const targetUrl = new URL(o.url);
  const gatewayPort = Number(targetUrl.port || (targetUrl.protocol === 'https:' || targetUrl.protocol === 'wss:' ? 443 : 80));

  const collector = new Collector();
  const workerData: LoadWorkerData[] = Array.from({ length: threads }, (_, thread) => ({
    thread,
    runId,
    target: {
      kind: o.target,
      url: o.url,
      connections: perThreadConnections,
      window: o.window,
      format: o.format,
      gzip: o.gzip,
      apiKey: o.apiKey,
      timeoutMs: o.timeoutMs,
      maxQueued: o.maxQueued,
    },
    payload: { batch: o.batch, format: o.format, gzip: o.gzip, eventBytes: o.eventBytes, mix: o.mix, seed: o.seed + thread * 7919, poolSize: o.poolSize },
  }));

  const sampler = new ResourceSampler({
    t0: Date.now() + 500,
    gatewayPort: checkLocal(targetUrl.hostname) ? gatewayPort : undefined,
    floodgateHome: o.stack.floodgateHome,
    kafkaTopic: o.stack.topic,
    sinkGroupId: o.stack.groupId,
  });
  sampler.start();

  const logger = benchLogger();
  const kafka = o.proof || o.findMax ? createKafka({ brokers: o.stack.kafkaBrokers, clientId: 'floodgate-bench', logger }) : undefined;
  const kafkaAdmin = kafka?.admin();
  /** Admin clients the delivery proof made after the first one hung (closed at the end). */
  const extraAdmins: Admin[] = [];
  let kafkaAdminReady = false;
  if (kafkaAdmin) {
    try {
      await kafkaAdmin.connect();
      kafkaAdminReady = true;
    } catch (error) {
      say(`bench: cannot reach Kafka at ${o.stack.kafkaBrokers.join(',')} (${(error as Error).message}); no lag checks and no delivery proof`);
    }
  }

  let stopReason = 'completed' as BenchReport['stopReason'];
  const loadThreads = new LoadThreads(workerData, (thread, snapshot) => collector.add(thread, snapshot));
  const phases: PhaseInfo[] = [];
  const phaseResults = new Map<number, { intended: number; durationMs: number; answerMs: number }>();
  let currentPhase: PhaseInfo | undefined;
  let stopping = false;
  const stopLoad = (reason: BenchReport['stopReason']) => {
    if (stopping) return;
    stopping = true;
    stopReason = reason;
    loadThreads.stop();
  };
  const onAbort = () => stopLoad('interrupted');
  hooks.stop?.addEventListener('abort', onAbort);
  const guardTimer = setTimeout(() => stopLoad('max-duration'), o.maxDurationMs + 5000);
  guardTimer.unref();

  // Live progress, once a second.
  let lastPrinted = -1;
  const progressTimer = setInterval(() => {
    if (collector.total.eventsSent >= o.maxEvents) stopLoad('max-events');
    // The second that ended at least 150 ms ago: the load threads have sent its counts by then.
    const index = Math.floor((nowMs() - t0 - 150) / 1000) - 1;
    if (index < 0 || index === lastPrinted || !currentPhase) return;
    lastPrinted = index;
    const second = collector.seconds.get(index);
    const lat = second ? summarize(second.latency) : undefined;
    const target = valueAt(currentPhase.profile, t0 + (index + 0.5) * 1000 - currentPhase.startAtMs);
    const step = o.findMax ? `step ${currentPhase.phase + 1} · ` : '';
    const unit = o.model === 'closed' ? ' VUs' : '/s';
    hooks.progress?.(
      `[${String(index + 1).padStart(4)}s] ${step}target ${fmt(target)}${unit} · sent ${fmt(second?.sent ?? 0)}/s · ok ${fmt(collector.total.ok)} · errors ${fmt(collector.total.failed)} · p50 ${fmtMs(lat?.p50 ?? 0)} · p99 ${fmtMs(lat?.p99 ?? 0)} · in flight ${fmt(collector.inFlight)}`,
    );
  }, 200);
  progressTimer.unref();

  const runPhase = async (profile: Profile): Promise<{ phase: number; intended: number; durationMs: number }> => {
    const phase = phases.length;
    const startAtMs = Math.max(nowMs() + 100, t0);
    const info: PhaseInfo = { phase, startAtMs, profile, model: o.model };
    phases.push(info);
    currentPhase = info;
    const result = await loadThreads.runPhase(() => ({
      type: 'phase',
      phase,
      model: o.model,
      profile: scaleProfile(profile, 1 / threads),
      startAtMs,
      thinkMs: o.thinkMs,
      drainMs: o.drainMs,
      t0,
    }));
    const durationMs = Math.min(profileDurationMs(profile), Math.max(0, nowMs() - startAtMs));
    const intended = o.model === 'open' ? result.intended : collector.phases.get(phase)?.sent ?? 0;
    // The answers may arrive long after the last send (an overloaded target queues them): the
    // rates are judged over the time from the phase start to its last answer.
    const lastAnswer = collector.phases.get(phase)?.lastAnswerAtMs ?? 0;
    const answerMs = Math.max(durationMs, lastAnswer > 0 ? lastAnswer - startAtMs : 0);
    phaseResults.set(phase, { intended, durationMs, answerMs });
    return { phase, intended, durationMs };
  };

  let findMax: FindMaxResult | undefined;
  try {
    await loadThreads.ready();
    t0 = nowMs() + 200;
    sampler.setT0(Date.now() + 200);
    if (o.findMax) findMax = await runFindMax(o, o.findMax, runPhase, collector, () => stopping, async () => {
      if (!kafkaAdminReady || !kafkaAdmin) return;
      const until = Date.now() + 30_000;
      while (Date.now() < until && !stopping) {
        try {
          if ((await consumerLag(kafkaAdmin, o.stack.groupId, o.stack.topic)).total === 0) return;
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }, say);
    else await runPhase(o.profile!);
  } catch (error) {
    stopReason = 'target-unreachable';
    say(`bench: the load could not run: ${(error as Error).message}`);
  } finally {
    clearInterval(progressTimer);
    clearTimeout(guardTimer);
    hooks.stop?.removeEventListener('abort', onAbort);
    await loadThreads.close();
    sampler.stop();
  }
  const loadEnded = new Date();

  // Delivery proof.
  const total = collector.total;
  let delivery: BenchReport['delivery'] = { checked: false, reason: 'disabled (--no-proof)' };
  const clickhouse = createClickHouse({
    url: o.stack.clickhouseUrl,
    username: o.stack.clickhouseUser,
    password: o.stack.clickhousePassword,
    database: 'default',
    requestTimeoutMs: 60_000,
  });
  if (o.proof && hooks.skipProof?.aborted) delivery = { checked: false, reason: 'skipped (interrupted twice)' };
  else if (o.proof && !kafkaAdminReady) delivery = { checked: false, reason: `Kafka unreachable at ${o.stack.kafkaBrokers.join(',')}` };
  else if (o.proof && kafkaAdmin) {
    say(`delivery proof: waiting for consumer group ${o.stack.groupId} to catch up on ${o.stack.topic}, then counting run ${runId} in ${o.stack.database}.${o.stack.table}`);
    try {
      delivery = await proveDelivery({
        clickhouse,
        kafkaAdmin,
        freshAdmin: async () => {
          const fresh = kafka!.admin();
          extraAdmins.push(fresh);
          await fresh.connect();
          return fresh;
        },
        groupId: o.stack.groupId,
        topic: o.stack.topic,
        database: o.stack.database,
        table: o.stack.table,
        runId,
        since: new Date(startedAt.getTime() - 60_000).toISOString(),
        acknowledged: total.eventsAcked,
        ambiguous: total.ambiguousEvents,
        timeoutMs: o.proofTimeoutMs,
        t0Ms: t0,
        say,
        shouldAbort: () => hooks.skipProof?.aborted ?? false,
      });
    } catch (error) {
      delivery = { checked: false, reason: `proof failed: ${(error as Error).message}` };
    }
  }
  await kafkaAdmin?.disconnect().catch(() => {});
  for (const extra of extraAdmins) await extra.disconnect().catch(() => {});

  // The report.
  const loadMs = [...phaseResults.values()].reduce((sum, p) => sum + p.durationMs, 0);
  const intended = [...phaseResults.values()].reduce((sum, p) => sum + p.intended, 0);
  const meanTarget = phases.length === 0 || loadMs === 0 ? 0 : phases.reduce((sum, p) => sum + (phaseResults.get(p.phase)?.durationMs ?? 0) * meanRate(p.profile), 0) / loadMs;
  const peak = phases.length === 0 ? 0 : Math.max(...phases.map((p) => peakOf(p.profile)));
  const loadS = loadMs / 1000;
  const answerS = [...phaseResults.values()].reduce((sum, p) => sum + p.answerMs, 0) / 1000;
  const timeline = buildTimeline(collector, phases, t0);
  const finishedAt = new Date();
  const files = { json: path.join(outDir, 'report.json'), html: path.join(outDir, 'report.html') };
  const report: BenchReport = {
    version: 1,
    runId,
    scenario: o.scenario,
    command: o.command,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    loadSeconds: Math.round(loadS * 10) / 10,
    answerSeconds: Math.round(answerS * 10) / 10,
    wallSeconds: Math.round((loadEnded.getTime() - startedAt.getTime()) / 100) / 10,
    stopReason,
    interrupted: stopReason === 'interrupted',
    machine: machineInfo(),
    git: gitInfo(),
    target: { kind: o.target, url: o.url, batch: o.batch, format: o.format, gzip: o.gzip, connections: perThreadConnections * threads, window: o.window, auth: Boolean(o.apiKey) },
    load: { model: o.model, threads, thinkMs: o.thinkMs, profile: o.profile, eventBytes: o.eventBytes, mix: o.mix as Record<string, number> },
    totals: {
      intended,
      sent: total.sent,
      ok: total.ok,
      failed: total.failed,
      eventsSent: total.eventsSent,
      eventsAcked: total.eventsAcked,
      ambiguousEvents: total.ambiguousEvents,
      targetRate: Math.round(peak * 10) / 10,
      meanTargetRate: Math.round(meanTarget * 10) / 10,
      offeredRate: loadS > 0 ? Math.round((total.sent / loadS) * 10) / 10 : 0,
      answeredRate: answerS > 0 ? Math.round((total.completed / answerS) * 10) / 10 : 0,
      achievedRate: answerS > 0 ? Math.round((total.ok / answerS) * 10) / 10 : 0,
      eventsPerSecond: answerS > 0 ? Math.round((total.eventsAcked / answerS) * 10) / 10 : 0,
      // The ok rate over the intended rate: answers that trail the load lower it.
      efficiency: intended > 0 && answerS > 0 ? Math.round(Math.min(1, (total.ok / answerS) / (intended / loadS)) * 10_000) / 10_000 : 0,
      errorRate: Math.round(total.errorRate * 100_000) / 100_000,
    },
    latencyMs: summarize(total.latency),
    serviceMs: summarize(total.service),
    latencyCurve: percentileCurve(total.latency),
    errors: Object.entries(total.errors)
      .map(([key, count]) => ({ key, count }))
      .sort((a, b) => b.count - a.count),
    statuses: total.statuses,
    timeline,
    findMax,
    resources: { samples: sampler.samples, summary: sampler.summary() },
    delivery,
    files,
    stored: false,
    verdict: { ok: true, reasons: [] },
  };
  report.verdict = judgeRun(
    {
      unit: o.target === 'ws' ? 'message' : 'request',
      stopReason,
      sent: total.sent,
      ok: total.ok,
      failed: total.failed,
      eventsAcked: total.eventsAcked,
      errors: report.errors,
      latencyMs: report.latencyMs,
      delivery,
    },
    o.slo,
  );

  // How close the run came to what this host can do (`bench ceiling`): find-max's highest held
  // rate, else the achieved rate, over the newest stored ceilings of this host.
  if (o.ceilings !== false) {
    try {
      const requestsPerSecond = findMax ? findMax.highestHeldRate : report.totals.achievedRate;
      const eventsPerSecond = findMax ? findMax.highestHeldEventsPerSecond : report.totals.eventsPerSecond;
      const host = report.machine.hostname;
      const [http, kafkaCeiling] = await Promise.all([
        latestCeiling(clickhouse, o.stack.database, 'http', host, o.batch),
        latestCeiling(clickhouse, o.stack.database, 'kafka', host),
      ]);
      report.ceilings = ceilingFractions({ requestsPerSecond, eventsPerSecond, batch: o.batch }, http, kafkaCeiling);
    } catch (error) {
      say(`bench: could not read the stored ceilings: ${(error as Error).message}`);
    }
  }

  if (o.store) {
    try {
      await storeRun(clickhouse, o.stack.database, report);
      report.stored = `${o.stack.database}.bench_runs`;
    } catch (error) {
      report.stored = `not stored: ${(error as Error).message}`;
      say(`bench: could not store the run in ClickHouse: ${(error as Error).message}`);
    }
  }
  await clickhouse.close();
  writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(files.html, renderHtml(report));
  return report;
}

function checkLocal(host: string): boolean {
  return /^(127\.|localhost$|\[?::1\]?$)/.test(host);
}

function meanRate(profile: Profile): number {
  const d = profileDurationMs(profile);
  return d === 0 ? 0 : (new ArrivalCurve(profile).total / d) * 1000;
}

function buildTimeline(collector: Collector, phases: PhaseInfo[], t0: number): TimelinePoint[] {
  const indexes = [...collector.seconds.keys()].filter((i) => i >= 0).sort((a, b) => a - b);
  const out: TimelinePoint[] = [];
  for (const index of indexes) {
    const a = collector.seconds.get(index)!;
    const mid = t0 + (index + 0.5) * 1000;
    const phase = [...phases].reverse().find((p) => p.startAtMs <= mid) ?? phases[0];
    const inPhase = phase ? mid - phase.startAtMs : 0;
    const target = phase && inPhase <= profileDurationMs(phase.profile) ? valueAt(phase.profile, inPhase) : 0;
    const lat = summarize(a.latency);
    out.push({
      t: index + 1,
      phase: phase?.phase ?? 0,
      targetRate: Math.round(target * 10) / 10,
      sentRate: a.sent,
      okRate: a.ok,
      errorRate: a.failed,
      eventsPerSecond: a.eventsAcked,
      p50: lat.p50,
      p90: lat.p90,
      p99: lat.p99,
      max: lat.max,
      inFlight: a.inFlight,
    });
  }
  return out;
}

/**
 * Steps the rate up by `factor` while steps hold (p99 within the objective, errors and efficiency
 * within bounds), then bisects between the last held and the first failed rate.
 */
async function runFindMax(
  o: BenchOptions,
  f: FindMaxOptions,
  runPhase: (profile: Profile) => Promise<{ phase: number; intended: number; durationMs: number }>,
  collector: Collector,
  stopped: () => boolean,
  settle: () => Promise<void>,
  say: (line: string) => void,
): Promise<FindMaxResult> {
  const steps: FindMaxStep[] = [];
  let best: FindMaxStep | undefined;
  let failedRate: number | undefined;
  let refinements = 0;
  let rate = Math.round(f.startRate);
  const startedAt = Date.now();
  if (f.warmupMs > 0 && !stopped()) {
    say(`find-max: warm-up, ${fmt(rate)}/s for ${Math.round(f.warmupMs / 1000)} s (not judged)`);
    await runPhase({ start: rate, stages: [{ durationMs: f.warmupMs, target: rate }] });
    await new Promise((r) => setTimeout(r, f.cooldownMs));
    await settle();
  }
  for (let step = 1; step <= f.maxSteps && !stopped(); step++) {
    if (Date.now() - startedAt + f.stepMs > o.maxDurationMs) break;
    const { phase, intended, durationMs } = await runPhase({ start: rate, stages: [{ durationMs: f.stepMs, target: rate }] });
    const a = collector.phases.get(phase);
    const latencyMs = summarize(a?.latency ?? createHistogram());
    const ok = a?.ok ?? 0;
    const failed = a?.failed ?? 0;
    const errorRate = ok + failed === 0 ? 1 : failed / (ok + failed);
    const efficiency = intended > 0 ? ok / intended : 0;
    const why: string[] = [];
    if (latencyMs.count === 0) why.push('no answer');
    else if (latencyMs.p99 > f.objectiveP99Ms) why.push(`p99 ${fmtMs(latencyMs.p99)} > ${f.objectiveP99Ms} ms`);
    if (errorRate > f.maxErrorRate) why.push(`errors ${(errorRate * 100).toFixed(2)} % > ${(f.maxErrorRate * 100).toFixed(2)} %`);
    if (efficiency < f.minEfficiency) why.push(`efficiency ${(efficiency * 100).toFixed(1)} % < ${(f.minEfficiency * 100).toFixed(0)} %`);
    if (stopped()) why.push('interrupted');
    const held = why.length === 0;
    const s: FindMaxStep = {
      step,
      rate,
      eventsRate: rate * o.batch,
      durationS: Math.round(durationMs / 100) / 10,
      intended,
      ok,
      failed,
      errorRate: Math.round(errorRate * 100_000) / 100_000,
      achievedRate: durationMs > 0 ? Math.round((ok / durationMs) * 10_000) / 10 : 0,
      efficiency: Math.round(efficiency * 10_000) / 10_000,
      latencyMs,
      held,
      why: why.join(', '),
    };
    steps.push(s);
    say(`find-max step ${step}: ${fmt(rate)}/s (${fmt(rate * o.batch)} events/s) → ${held ? 'held' : `failed: ${s.why}`}; p99 ${fmtMs(latencyMs.p99)}, errors ${(errorRate * 100).toFixed(2)} %`);
    if (held && (!best || rate > best.rate)) best = s;
    if (!held) failedRate = failedRate === undefined ? rate : Math.min(failedRate, rate);
    let next: number;
    if (failedRate === undefined) {
      next = Math.round(rate * f.factor);
      if (rate >= f.maxRate) break;
      next = Math.min(next, f.maxRate);
    } else {
      if (refinements >= f.refineSteps || stopped()) break;
      const lo = best?.rate ?? 0;
      next = lo === 0 ? Math.round(rate / f.factor) : Math.round((lo + failedRate) / 2);
      if (lo > 0 && (failedRate - lo) / failedRate < 0.05) break;
      if (next < 1 || next === rate || next === lo) break;
      refinements++;
    }
    rate = next;
    // Let the previous step's backlog (sink, Kafka) clear before the next one is measured.
    await new Promise((r) => setTimeout(r, f.cooldownMs));
    await settle();
  }
  return {
    objectiveP99Ms: f.objectiveP99Ms,
    maxErrorRate: f.maxErrorRate,
    minEfficiency: f.minEfficiency,
    steps,
    highestHeldRate: best?.rate ?? 0,
    highestHeldEventsPerSecond: (best?.rate ?? 0) * o.batch,
    held: best,
    firstFailedRate: failedRate,
  };
}

export { formatDuration };
