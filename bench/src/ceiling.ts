/**
 * `floodgate bench ceiling`: what this machine can do at most, measured the way the pipeline is,
 * so a run can say how close it came (docs/performance.md):
 * - the HTTP ceiling: a bare server on the gateway's uWebSockets.js build that parses the body and
 *   answers at once (bare-server.ts), driven by the bench's own generator and request;
 * - the Kafka ceiling: Kafka's own `org.apache.kafka.tools.ProducerPerformance` (kafka-tools jar of
 *   the broker's version) against the configured brokers, same record size, acks=all, idempotent,
 *   on a throw-away topic deleted afterwards.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FloodgateError } from '@floodgate/errors';
import type { Admin } from 'kafkajs';
import { DEFAULT_EVENT_LIMITS, parseEvents } from '@floodgate/event-model';
import { createEventFactory, type EventKind } from './payload.ts';

const BARE_SERVER = fileURLToPath(new URL('./bare-server.ts', import.meta.url));

/** One stored ceiling measurement (table `bench_ceilings`, migration 21). */
export interface Ceiling {
  id: string;
  measuredAt: string;
  kind: 'http' | 'kafka';
  /** HTTP: events per request; Kafka: 1. */
  batch: number;
  /** HTTP: requests/s; Kafka: records/s. */
  rate: number;
  eventsPerSecond: number;
  p99Ms: number;
  /** Kafka: bytes per record; HTTP: bytes per event asked of the generator. */
  recordSize: number;
  host: string;
  nproc: number;
  gitCommit: string;
  /** How it was measured (connections, duration, producer settings, ...). */
  detail: Record<string, unknown>;
}

/** The last line ProducerPerformance prints: totals and latency percentiles. */
export interface ProducerPerformanceResult {
  records: number;
  recordsPerSecond: number;
  mbPerSecond: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
}

const SUMMARY =
  /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th/;

/**
 * Reads ProducerPerformance's final summary (`N records sent, R records/sec (M MB/sec), A ms avg
 * latency, X ms max latency, p50 ms 50th, p95 ms 95th, p99 ms 99th, p999 ms 99.9th.`); the periodic
 * progress lines before it have no percentiles and are skipped.
 */
export function parseProducerPerformance(output: string): ProducerPerformanceResult {
  const lines = output.split('\n').filter((l) => SUMMARY.test(l));
  const m = lines.length > 0 ? SUMMARY.exec(lines[lines.length - 1]!) : null;
  if (!m) {
    const tail = output.trim().split('\n').slice(-3).join(' | ');
    throw new FloodgateError('BENCH_CEILING_FAILED', `ProducerPerformance printed no summary line${tail ? `; its output ended with: ${tail}` : ''}`);
  }
  const n = (i: number) => Number(m[i]);
  return { records: n(1), recordsPerSecond: n(2), mbPerSecond: n(3), avgLatencyMs: n(4), maxLatencyMs: n(5), p50Ms: n(6), p95Ms: n(7), p99Ms: n(8), p999Ms: n(9) };
}

/** `rate / ceiling`, to three decimals; undefined without a usable ceiling. */
export function fractionOf(rate: number, ceiling: number | undefined): number | undefined {
  if (ceiling === undefined || !Number.isFinite(ceiling) || ceiling <= 0 || !Number.isFinite(rate) || rate < 0) return undefined;
  return Math.round((rate / ceiling) * 1000) / 1000;
}

/** A run's rates against the stored ceilings, as the reports print them. */
export interface CeilingFractions {
  /** The run's rate the fractions are of: find-max's highest held rate, else the achieved rate. */
  requestsPerSecond: number;
  eventsPerSecond: number;
  /** The bare server at the run's batch size, if measured on this host. */
  http?: { ceilingId: string; measuredAt: string; ceilingRequestsPerSecond: number; ceilingEventsPerSecond: number; fraction: number };
  kafka?: { ceilingId: string; measuredAt: string; ceilingRecordsPerSecond: number; recordSize: number; fraction: number };
  /** Why a ceiling is missing. */
  notes: string[];
}

/**
 * The fractions of a run: events/s over the bare server's events/s at the same batch size (the
 * HTTP ceiling is per request, so only a measurement at the same batch compares), and events/s
 * over Kafka's own producer's records/s (one event is one record).
 */
export function ceilingFractions(run: { requestsPerSecond: number; eventsPerSecond: number; batch: number }, http: Ceiling | undefined, kafka: Ceiling | undefined): CeilingFractions {
  const out: CeilingFractions = { requestsPerSecond: run.requestsPerSecond, eventsPerSecond: run.eventsPerSecond, notes: [] };
  const httpFraction = http && http.batch === run.batch ? fractionOf(run.eventsPerSecond, http.eventsPerSecond) : undefined;
  if (http && httpFraction !== undefined) {
    out.http = { ceilingId: http.id, measuredAt: http.measuredAt, ceilingRequestsPerSecond: http.rate, ceilingEventsPerSecond: http.eventsPerSecond, fraction: httpFraction };
  } else out.notes.push(`no HTTP ceiling at batch ${run.batch} on this host (run \`floodgate bench ceiling --batch ${run.batch}\`)`);
  const kafkaFraction = kafka ? fractionOf(run.eventsPerSecond, kafka.rate) : undefined;
  if (kafka && kafkaFraction !== undefined) {
    out.kafka = { ceilingId: kafka.id, measuredAt: kafka.measuredAt, ceilingRecordsPerSecond: kafka.rate, recordSize: kafka.recordSize, fraction: kafkaFraction };
  } else out.notes.push('no Kafka producer ceiling on this host (run `floodgate bench ceiling`)');
  return out;
}

const f0 = (v: number) => Math.round(v).toLocaleString('en-US');

/** Lines for the summary: "x.xx of the bare server", "x.xx of Kafka's own producer". */
export function renderFractions(c: CeilingFractions): string[] {
  const out: string[] = [];
  if (c.http) {
    out.push(
      `ceiling: ${c.http.fraction.toFixed(3)} of the bare uWebSockets.js server (${f0(c.eventsPerSecond)} vs ${f0(c.http.ceilingEventsPerSecond)} events/s, ${f0(c.http.ceilingRequestsPerSecond)} req/s; ceiling ${c.http.ceilingId})`,
    );
  }
  if (c.kafka) {
    out.push(
      `ceiling: ${c.kafka.fraction.toFixed(3)} of Kafka's own producer (${f0(c.eventsPerSecond)} events/s vs ${f0(c.kafka.ceilingRecordsPerSecond)} records/s of ${c.kafka.recordSize} B, acks=all; ceiling ${c.kafka.ceilingId})`,
    );
  }
  for (const note of c.notes) out.push(`ceiling: ${note}`);
  return out;
}

export function renderCeilings(rows: Ceiling[]): string[] {
  return rows.map((c) =>
    c.kind === 'http'
      ? `HTTP ceiling (bare uWebSockets.js server, batch ${c.batch}): ${f0(c.rate)} req/s = ${f0(c.eventsPerSecond)} events/s, p99 ${c.p99Ms.toFixed(1)} ms`
      : `Kafka ceiling (ProducerPerformance, ${c.recordSize} B records, acks=all): ${f0(c.rate)} records/s, p99 ${c.p99Ms} ms`,
  );
}

/** A bare server in its own process; `close` stops it. */
export async function startBareServer(host = '127.0.0.1'): Promise<{ url: string; pid: number; close: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', BARE_SERVER, host, '0'], { stdio: ['ignore', 'pipe', 'pipe'], cwd: path.dirname(BARE_SERVER) });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new FloodgateError('BENCH_CEILING_FAILED', `the bare server did not start within 30 s: ${stderr.trim()}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new FloodgateError('BENCH_CEILING_FAILED', `the bare server exited (${code}): ${stderr.trim()}`));
    });
  });
  return {
    url: `http://${host}:${port}`,
    pid: child.pid!,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface ProducerPerformanceOptions {
  java: string;
  /** `-cp`: the broker's libs and the kafka-tools jar. */
  classpath: string;
  brokers: string[];
  records: number;
  recordSize: number;
  /** Throw-away topic; created with the pipeline topic's partitions and replication, deleted after. */
  topic: string;
  partitions: number;
  replicationFactor: number;
  admin: Admin;
  /** Killed past this (the run then fails). */
  timeoutMs: number;
}

/**
 * Kafka's own producer at full speed: acks=all and idempotence, as the pipeline produces, and
 * Kafka's default batching. The topic is deleted afterwards whatever happened.
 */
export async function runProducerPerformance(o: ProducerPerformanceOptions): Promise<ProducerPerformanceResult & { output: string }> {
  await o.admin.createTopics({ waitForLeaders: true, topics: [{ topic: o.topic, numPartitions: o.partitions, replicationFactor: o.replicationFactor }] });
  try {
    const args = [
      '-Xmx512m',
      '-Dlog4j2.level=warn',
      '-cp',
      o.classpath,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      o.topic,
      '--num-records',
      String(o.records),
      '--record-size',
      String(o.recordSize),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${o.brokers.join(',')}`,
      'acks=all',
      'enable.idempotence=true',
    ];
    const output = await new Promise<string>((resolve, reject) => {
      execFile(o.java, args, { timeout: o.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) reject(new FloodgateError('BENCH_CEILING_FAILED', `ProducerPerformance failed: ${error.message.split('\n')[0]} ${stderr.trim().split('\n').slice(-3).join(' | ')}`, { cause: error }));
        else resolve(stdout);
      });
    });
    return { ...parseProducerPerformance(output), output };
  } finally {
    await o.admin.deleteTopics({ topics: [o.topic], timeout: 30_000 });
  }
}

/**
 * The Kafka record the pipeline writes for the bench's events, in bytes (the average value size
 * over a sample): what the ingest thread produces for them after normalisation (id, tenant, times
 * added), so Kafka's own producer is measured at the pipeline's record size, not the request's.
 */
export function pipelineRecordBytes(options: { eventBytes: number; mix: Partial<Record<EventKind, number>>; seed: number }, sample = 200): number {
  const next = createEventFactory({ runId: '20260101-000000-0000', eventBytes: options.eventBytes, mix: options.mix, seed: options.seed });
  const body = JSON.stringify(Array.from({ length: sample }, next));
  const parsed = parseEvents(body, 'json', { tenant: 'default', receivedAtMs: Date.now(), limits: { ...DEFAULT_EVENT_LIMITS, maxEventsPerRequest: sample } });
  if (!parsed.ok) throw new FloodgateError('BENCH_CEILING_FAILED', `the bench's own events did not parse: ${parsed.message}`);
  const bytes = parsed.values.reduce((sum, v) => sum + Buffer.byteLength(v), 0);
  return Math.round(bytes / parsed.values.length);
}
