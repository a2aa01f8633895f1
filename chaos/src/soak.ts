/**
 * `npm run soak -- --minutes 10 [--rate R | --objective-p99 100ms] [--batch 10] [--out docs/soak.md]`: a long steady run
 * against a private stack (the chaos suite's: 3 Kafka brokers, NATS, ClickHouse, 2 gateway
 * processes, 1 sink) at 80 % of the measured maximum rate (`floodgate bench find-max`, unless
 * --rate is given). The load runs as three back-to-back `bench constant` phases: the first minute,
 * the middle, the last minute, so the p99 of the first and of the last minute are exact; each phase
 * ends with the delivery proof. Prints (and with --out writes as Markdown) the p99s, the proofs,
 * the resident memory of every process at start and end, and a timeline of it (about ten samples)
 * that tells a process warming up to its working size from one that keeps growing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderTable } from '@floodgate/tables';
import { createWorld, type ChaosWorld } from './env.ts';
import { bringUp, exitWith, stopOnInterrupt, tearDown, worldRss, type RunningWorld } from './pipeline.ts';
import { runCli } from './procs.ts';

const say = (line: string) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

function args() {
  const argv = process.argv.slice(2);
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const minutes = Number(value('--minutes') ?? 10);
  if (!Number.isFinite(minutes) || minutes < 3) throw new Error('--minutes must be at least 3 (first minute, middle, last minute)');
  return {
    minutes,
    rate: value('--rate') ? Number(value('--rate')) : undefined,
    batch: Number(value('--batch') ?? 10),
    // find-max's p99 objective (bench default 100ms); a busy shared machine may need more.
    objectiveP99: value('--objective-p99') ?? '100ms',
    out: value('--out'),
    keep: argv.includes('--keep'),
  };
}

interface Phase {
  name: string;
  seconds: number;
  runId: string;
  p50: number;
  p99: number;
  e2eP99: number;
  acknowledged: number;
  rows: number;
  missing: number;
  duplicates: number;
  ambiguous: number;
  proof: string;
  ok: boolean;
}

/** The parts of the bench's report.json the soak reads. */
interface SoakBenchReport {
  runId: string;
  latencyMs?: { p50: number; p99: number };
  findMax?: { highestHeldRate: number };
  delivery?: { checked?: boolean; ok?: boolean; acknowledged: number; rows: number; missing: number; duplicateIds: number; ambiguous: number; reason: string; e2eMs?: { p99: number } };
}

async function bench(world: ChaosWorld, running: RunningWorld, scenario: string[], tag: string): Promise<SoakBenchReport> {
  const out = path.join(world.home, 'bench', tag);
  const r = await runCli(
    ['bench', ...scenario, '--url', `http://127.0.0.1:${world.ports.gateway}`, '--no-store', '--quiet', '--json', '--out', out],
    { ...world.env, FLOODGATE_API_KEY: running.apiKey },
    path.join(world.home, 'logs', 'soak-bench.log'),
    3 * 60 * 60_000,
  );
  try {
    return JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as SoakBenchReport;
  } catch {
    throw new Error(`bench ${scenario[0]} (exit ${r.code}) wrote no report: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  }
}

interface MemorySample {
  minute: number;
  rss: Map<string, number>;
}

/** Samples every process's RSS about ten times over the soak (and once more when stopped). */
function sampleMemory(world: ChaosWorld, running: RunningWorld, minutes: number): { stop(): MemorySample[] } {
  const started = Date.now();
  const samples: MemorySample[] = [];
  const take = () => samples.push({ minute: Math.round((Date.now() - started) / 6_000) / 10, rss: new Map(worldRss(world, running).map((r) => [r.name, r.rssMiB])) });
  take();
  const timer = setInterval(take, Math.max(1, Math.round(minutes / 10)) * 60_000);
  timer.unref(); // a soak that fails half-way must still exit
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

/**
 * One row per process, one column per sample, and the change over the second half: a process that
 * only warms up is flat there, a leak keeps growing.
 */
function renderMemoryTimeline(samples: MemorySample[]): string {
  const names = [...new Set(samples.flatMap((s) => [...s.rss.keys()]))];
  const middle = samples[Math.floor((samples.length - 1) / 2)]!;
  const last = samples[samples.length - 1]!;
  const change = (from: number | undefined, to: number | undefined) => (from && to ? `${to >= from ? '+' : ''}${(((to - from) / from) * 100).toFixed(1)} %` : '-');
  return renderTable(
    ['PROCESS (RSS MIB AT MINUTE)', ...samples.map((s) => s.minute.toFixed(1)), `CHANGE ${middle.minute.toFixed(1)}→END`],
    names.map((n) => [n, ...samples.map((s) => s.rss.get(n)?.toFixed(1) ?? '-'), change(middle.rss.get(n), last.rss.get(n))]),
  );
}

async function main(): Promise<number> {
  const opts = args();
  const started = new Date();
  const world = await createWorld();
  mkdirSync(path.join(world.home, 'logs'), { recursive: true });
  say(`private stack in ${world.home}; load: HTTP, batch ${opts.batch}`);
  let running: RunningWorld | undefined;
  let ok = false;
  stopOnInterrupt(world, () => running, say);
  try {
    running = await bringUp(world, say);
    let rate = opts.rate;
    let maxNote = `--rate ${rate} given`;
    if (rate === undefined) {
      say('find-max (steps of 10 s)...');
      const fm = await bench(world, running, ['find-max', '--batch', String(opts.batch), '--start-rate', '20', '--max-steps', '10', '--threads', '1', '--objective-p99', opts.objectiveP99], 'find-max');
      const held = Number(fm.findMax?.highestHeldRate ?? 0);
      if (!(held > 0)) throw new Error('find-max found no rate that held');
      rate = Math.max(1, Math.floor(held * 0.8));
      maxNote = `find-max (p99 objective ${opts.objectiveP99}): highest held ${held} requests/s (${held * opts.batch} events/s); 80 %: ${rate} requests/s`;
    }
    say(`${maxNote}; soak ${opts.minutes} min at ${rate} requests/s × ${opts.batch} events`);
    const rssStart = worldRss(world, running);
    const memory = sampleMemory(world, running, opts.minutes);
    const phases: Phase[] = [];
    const plan: [string, number][] = [['first minute', 60], ['middle', (opts.minutes - 2) * 60], ['last minute', 60]];
    for (const [name, seconds] of plan) {
      say(`${name}: ${seconds} s`);
      const r = await bench(world, running, ['constant', '--rate', String(rate), '--batch', String(opts.batch), '--duration', `${seconds}s`, '--threads', '1', '--proof-timeout', '300s'], name.replace(/ /g, '-'));
      const d = r.delivery;
      phases.push({
        name,
        seconds,
        runId: String(r.runId),
        p50: Number(r.latencyMs?.p50 ?? 0),
        p99: Number(r.latencyMs?.p99 ?? 0),
        e2eP99: Number(d?.e2eMs?.p99 ?? 0),
        acknowledged: Number(d?.acknowledged ?? 0),
        rows: Number(d?.rows ?? 0),
        missing: Number(d?.missing ?? 0),
        duplicates: Number(d?.duplicateIds ?? 0),
        ambiguous: Number(d?.ambiguous ?? 0),
        proof: d?.reason ?? 'no proof',
        ok: d?.checked === true && d.ok === true && d.missing === 0 && d.duplicateIds === 0 && d.acknowledged > 0,
      });
    }
    const rssEnd = worldRss(world, running);
    const memoryTable = renderMemoryTimeline(memory.stop());
    ok = phases.every((p) => p.ok);
    const phaseTable = renderTable(
      ['PHASE', 'SECONDS', 'P50 MS', 'P99 MS', 'E2E P99 MS', 'ACKED', 'ROWS', 'MISSING', 'DUPLICATES', 'AMBIGUOUS', 'PROOF'],
      phases.map((p) => [p.name, String(p.seconds), p.p50.toFixed(1), p.p99.toFixed(1), p.e2eP99.toFixed(0), String(p.acknowledged), String(p.rows), String(p.missing), String(p.duplicates), String(p.ambiguous), p.ok ? 'PASS' : `FAIL: ${p.proof}`]),
    );
    const endByName = new Map(rssEnd.map((r) => [r.name, r]));
    const names = [...new Set([...rssStart.map((r) => r.name), ...rssEnd.map((r) => r.name)])];
    const rssTable = renderTable(
      ['PROCESS', 'PID START', 'RSS START MIB', 'PID END', 'RSS END MIB'],
      names.map((n) => {
        const a = rssStart.find((r) => r.name === n);
        const b = endByName.get(n);
        return [n, a ? String(a.pid) : '-', a ? a.rssMiB.toFixed(1) : '-', b ? String(b.pid) : '-', b ? b.rssMiB.toFixed(1) : '-'];
      }),
    );
    const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
    const header = `floodgate soak, ${started.toISOString()}, ${opts.minutes} min at ${rate} requests/s × ${opts.batch} events (HTTP); ${maxNote}; load average at end ${load} on ${os.cpus().length} cores`;
    process.stdout.write(`\n${header}\n${phaseTable}\n\n${rssTable}\n\n${memoryTable}\n`);
    if (opts.out) {
      const fence = '```';
      writeFileSync(
        opts.out,
        [
          `<!-- written by: npm run soak -- ${process.argv.slice(2).join(' ')} -->`,
          `${header}`,
          '',
          `${fence}text`,
          phaseTable,
          fence,
          '',
          `${fence}text`,
          rssTable,
          fence,
          '',
          `${fence}text`,
          memoryTable,
          fence,
          '',
        ].join('\n'),
      );
    }
  } finally {
    await tearDown(world, running, opts.keep || !ok);
    if (!ok) say(`kept ${world.home} (logs, bench reports)`);
  }
  return ok ? 0 : 1;
}

exitWith(main(), say);
