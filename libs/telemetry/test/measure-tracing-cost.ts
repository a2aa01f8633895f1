/**
 * What tracing costs: the same saturating load against the same pipeline with tracing off, at the
 * default ratio, and at 100 %, in alternating rounds (so drift on a shared machine hits all three
 * alike). Each run starts gateway and sink (default settings: on 2 cores one gateway process with
 * one ingest thread) on a fresh topic, group and database, drives POST /v1/events with `wrk`
 * (Debian's package; a C load generator leaves the two cores to the pipeline more than a Node
 * one would), and stops them. Besides requests/s it reports the CPU the gateway and the sink spent
 * per 1,000 requests (from /proc), and the median over rounds of each run's throughput against
 * the tracing-off run of the same round ("paired"): on a shared machine both are steadier than
 * the raw throughput.
 *
 *   node --import tsx libs/telemetry/test/measure-tracing-cost.ts [rounds=5] [seconds=20] [connections=512] [batch=1]
 *
 * Needs the local stack (`npx floodgate stack up`) and `wrk`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createClickHouse } from '@floodgate/clickhouse';
import { clickhouseUrl } from '@floodgate/config';
import { freePort, stackConfigForTests, startPipeline, uniqueName } from '@floodgate/testkit';

const run = promisify(execFile);
const [rounds = '5', seconds = '20', connections = '512', batch = '1'] = process.argv.slice(2);
const API_KEY = 'tracing-cost-key-0001';

const MODES: Record<string, NodeJS.ProcessEnv> = {
  off: { OTEL_SDK_DISABLED: 'true' },
  'default (0.001)': {},
  '100 %': { OTEL_TRACES_SAMPLER_ARG: '1' },
};

interface Result {
  mode: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** CPU seconds per wall second (1 = one core) of the gateway's and the sink's process trees. */
  gatewayCores: number;
  sinkCores: number;
  spans: number;
}

/** A ~230-byte event, as in the gateway's sizing measurements. */
function event(i: number): Record<string, unknown> {
  return { type: 'page_view', subject: `user-${i % 1000}`, source: 'web', data: { path: '/pricing', referrer: 'https://example.com/blog', session: `s-${i}`, ms: 1234 } };
}

function luaScript(): string {
  const n = Number(batch);
  const body = JSON.stringify(n === 1 ? event(1) : Array.from({ length: n }, (_, i) => event(i)));
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'tracing-cost-')), 'post.lua');
  writeFileSync(
    file,
    [
      'wrk.method = "POST"',
      'wrk.headers["Content-Type"] = "application/json"',
      `wrk.headers["Authorization"] = "Bearer ${API_KEY}"`,
      `wrk.body = ${JSON.stringify(body)}`,
    ].join('\n'),
  );
  return file;
}

/** utime + stime (clock ticks) of a process and all its descendants. */
function treeTicks(root: number): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(fields[1]));
      ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
    } catch {
      // gone meanwhile
    }
  }
  let sum = 0;
  for (const [pid, t] of ticks) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        sum += t;
        break;
      }
    }
  }
  return sum;
}

const stack = stackConfigForTests();
const clickhouse = createClickHouse({ url: clickhouseUrl(stack), username: stack.CLICKHOUSE_USER, password: stack.CLICKHOUSE_PASSWORD, database: 'default' });
const script = luaScript();

function latencyMs(text: string, percentile: string): number {
  const match = new RegExp(`^\\s+${percentile}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(text);
  if (!match) return NaN;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

async function once(mode: string): Promise<Result> {
  const database = uniqueName('tracing_cost');
  const topic = uniqueName('tracing_cost');
  const pipeline = await startPipeline({
    env: {
      KAFKA_TOPIC: topic,
      KAFKA_DLQ_TOPIC: `${topic}_dlq`,
      SINK_GROUP_ID: uniqueName('tracing_cost'),
      CLICKHOUSE_DATABASE: database,
      GATEWAY_PORT: String(await freePort()),
      ADMIN_PORT: '0',
      SINK_ADMIN_PORT: '0',
      FLOODGATE_API_KEYS: `bench:${API_KEY}`,
      ...MODES[mode],
    },
    onLogLine: () => {},
  });
  try {
    // Warm-up (connections, producer, JIT), not measured.
    await run('wrk', ['-t1', `-c${connections}`, '-d3s', '-s', script, `${pipeline.gatewayUrl}/v1/events`]);
    const gw0 = treeTicks(pipeline.pids.gateway!);
    const sink0 = treeTicks(pipeline.pids.sink!);
    const t0 = performance.now();
    const { stdout } = await run('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, `${pipeline.gatewayUrl}/v1/events`]);
    const wall = (performance.now() - t0) / 1000;
    const gatewayCores = (treeTicks(pipeline.pids.gateway!) - gw0) / 100 / wall;
    const sinkCores = (treeTicks(pipeline.pids.sink!) - sink0) / 100 / wall;
    await new Promise((r) => setTimeout(r, 2500)); // the last spans are exported
    const spans = await clickhouse
      .query({ query: `SELECT count() AS n FROM ${database}.otel_traces`, format: 'JSONEachRow' })
      .then((r) => r.json<{ n: string }>())
      .then((rows) => Number(rows[0]?.n ?? 0))
      .catch(() => 0);
    return {
      mode,
      requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN),
      p50: latencyMs(stdout, '50'),
      p99: latencyMs(stdout, '99'),
      non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
      gatewayCores,
      sinkCores,
      spans,
    };
  } finally {
    await pipeline.stop();
    await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
  }
}

const results: Result[] = [];
for (let round = 1; round <= Number(rounds); round++) {
  for (const mode of Object.keys(MODES)) {
    const r = await once(mode);
    results.push(r);
    console.log(JSON.stringify({ round, ...r }));
  }
}
console.log(`\nwrk -t1 -c${connections} -d${seconds}s, ${batch} event(s) per request, ${rounds} round(s) alternating; medians over rounds`);
console.log('mode               req/s     vs off   paired   events/s   p50 ms   p99 ms   gateway cores   sink cores   CPU ms per 1k req (gateway+sink)   spans/run');
// Medians: on a shared machine one disturbed round would drag a mean.
const median = (rs: Result[], f: (r: Result) => number) => {
  const v = rs.map(f).sort((a, b) => a - b);
  return v.length % 2 === 1 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};
const cpuPer1k = (r: Result) => ((r.gatewayCores + r.sinkCores) * 1e6) / r.requestsPerSecond;
const off = results.filter((r) => r.mode === 'off');
const baseline = median(off, (r) => r.requestsPerSecond);
const baseCpu = median(off, cpuPer1k);
for (const mode of Object.keys(MODES)) {
  const rs = results.filter((r) => r.mode === mode);
  const rps = median(rs, (r) => r.requestsPerSecond);
  const cpu = median(rs, cpuPer1k);
  // Each round against the 'off' run of the same round, the median of those ratios.
  const paired = median(
    rs.map((r, i) => ({ ...r, requestsPerSecond: r.requestsPerSecond / off[i]!.requestsPerSecond - 1 })),
    (r) => r.requestsPerSecond,
  );
  console.log(
    [
      mode.padEnd(16),
      rps.toFixed(0).padStart(7),
      `${(((rps - baseline) / baseline) * 100).toFixed(1)} %`.padStart(9),
      `${(paired * 100).toFixed(1)} %`.padStart(8),
      (rps * Number(batch)).toFixed(0).padStart(10),
      median(rs, (r) => r.p50).toFixed(1).padStart(8),
      median(rs, (r) => r.p99).toFixed(1).padStart(8),
      median(rs, (r) => r.gatewayCores).toFixed(2).padStart(15),
      median(rs, (r) => r.sinkCores).toFixed(2).padStart(12),
      `${cpu.toFixed(0)} (${(((cpu - baseCpu) / baseCpu) * 100).toFixed(1)} %)`.padStart(34),
      median(rs, (r) => r.spans).toFixed(0).padStart(11),
    ].join(' '),
  );
}
await clickhouse.close();
