import { Command, Option } from 'commander';
import { z } from 'zod';
import { clickhouseUrl, env, loadConfig, stackSchema } from '@floodgate/config';
import { createClickHouse } from '@floodgate/clickhouse';
import os from 'node:os';
import path from 'node:path';
import { createKafka } from '@floodgate/kafka';
import { createLogger } from '@floodgate/logging';
import { ensureKafkaJars, ensureKafkaToolsJar, findJava, kafkaClasspath } from '../stack/kafka.ts';
import {
  constantProfile,
  getRun,
  historyJson,
  listRuns,
  parseDuration,
  parseMix,
  parseSlo,
  readScenarioFile,
  renderCompare,
  renderHistory,
  renderSummary,
  renderCeilings,
  runBench,
  runProducerPerformance,
  pipelineRecordBytes,
  startBareServer,
  storeCeilings,
  newRunId,
  soakProfile,
  stormProfile,
  waveProfile,
  type BenchOptions,
  type Ceiling,
  type FindMaxOptions,
  type Profile,
  type ScenarioFileOptions,
} from '@floodgate/bench';
import { FloodgateError } from '@floodgate/errors';
import { onStopRequest } from '@floodgate/lifecycle';

/** Where the bench sends load and looks for the proof; every key can come from the environment. */
const benchEnvSchema = stackSchema.extend({
  GATEWAY_PORT: env.int(8080, 0, 65535),
  SINK_GROUP_ID: env.string('floodgate-sink'),
  SINK_TABLE: env.string('events'),
  FLOODGATE_API_KEY: z.string().optional(),
});

interface CommonFlags {
  url?: string;
  target: 'http' | 'ws';
  batch: string;
  format: 'json' | 'ndjson';
  gzip?: boolean;
  connections?: string;
  window: string;
  threads: string;
  model: 'open' | 'closed';
  vus?: string;
  think: string;
  eventBytes: string;
  mix: string;
  seed: string;
  apiKey?: string;
  timeout: string;
  maxDuration: string;
  allowLong?: boolean;
  maxEvents: string;
  allowRemote?: boolean;
  proof: boolean;
  proofTimeout: string;
  store: boolean;
  out?: string;
  json?: boolean;
  quiet?: boolean;
  topic?: string;
  group?: string;
  database?: string;
  table?: string;
  slo?: string;
}

const say = (line: string) => process.stderr.write(`${line}\n`);

function int(name: string, text: string, min = 1): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) throw new FloodgateError('CONFIG_INVALID', `${name} must be an integer ≥ ${min} (got ${text})`);
  return v;
}

function num(name: string, text: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0) throw new FloodgateError('CONFIG_INVALID', `${name} must be a number > 0 (got ${text})`);
  return v;
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'gateway base URL (default http://127.0.0.1:$GATEWAY_PORT, port 8080)')
    .addOption(new Option('--target <kind>', 'HTTP POST /v1/events or WebSocket /v1/stream').choices(['http', 'ws']).default('http'))
    .option('--batch <n>', 'events per request (HTTP) or message (WebSocket)', '1')
    .addOption(new Option('--format <format>', 'HTTP body format').choices(['json', 'ndjson']).default('json'))
    .option('--gzip', 'gzip the HTTP bodies (WebSocket: permessage-deflate)')
    .option('--connections <n>', 'connections in total (default: 32 for HTTP, 4 for WebSocket)')
    .option('--window <n>', 'WebSocket: messages in flight per connection', '16')
    .option('--threads <n>', 'load threads', '2')
    .addOption(new Option('--model <model>', 'open: arrival rate (latency from the intended send time); closed: virtual users').choices(['open', 'closed']).default('open'))
    .option('--vus <n>', 'closed model: virtual users (the stage targets become user counts)')
    .option('--think <duration>', 'closed model: pause after each answer', '0ms')
    .option('--event-bytes <n>', 'approximate size of one event in bytes', '300')
    .option('--mix <weights>', 'event families by weight', 'product=6,telemetry=3,iot=1')
    .option('--seed <n>', 'payload random seed', '1')
    .option('--api-key <key>', 'sent as Authorization: Bearer <key> (default $FLOODGATE_API_KEY; none when unset)')
    .option('--timeout <duration>', 'per-request timeout', '30s')
    .option('--max-duration <duration>', 'refuse scenarios longer than this (at most 1h without --allow-long)', '1h')
    .option('--allow-long', 'allow --max-duration up to 24h')
    .option('--max-events <n>', 'stop after sending this many events', '50000000')
    .option('--allow-remote', 'allow a target that is not on this machine (loopback)')
    .option('--no-proof', 'skip the delivery proof (consumer lag + ClickHouse counts)')
    .option('--proof-timeout <duration>', 'how long to wait for the consumer lag to reach 0', '120s')
    .option('--no-store', 'do not store the run in ClickHouse bench_runs')
    .option('--out <dir>', 'report folder (default $FLOODGATE_HOME/bench/<run id>)')
    .option('--slo <objectives>', 'judge the run: e.g. p99=50ms or p99=50ms,p50=5ms,errors=1% (a missed objective fails the run, exit 1)')
    .option('--json', 'print the JSON report on stdout instead of the summary table')
    .option('--quiet', 'no live progress line')
    .option('--topic <topic>', 'Kafka topic the gateway writes (default $KAFKA_TOPIC, events)')
    .option('--group <group>', 'sink consumer group (default $SINK_GROUP_ID, floodgate-sink)')
    .option('--database <db>', 'ClickHouse database (default $CLICKHOUSE_DATABASE, floodgate)')
    .option('--table <table>', 'events table (default $SINK_TABLE, events)');
}

function buildOptions(scenario: string, flags: CommonFlags, extra: { profile?: Profile; findMax?: FindMaxOptions; file?: ScenarioFileOptions }): BenchOptions {
  const config = loadConfig(benchEnvSchema);
  const file = extra.file ?? {};
  const target = (flags.target !== 'http' ? flags.target : file.target) ?? flags.target;
  const connectionsDefault = target === 'ws' ? 4 : 32;
  const flagOr = <T>(flag: T | undefined, fallback: T | undefined, def: T): T => flag ?? fallback ?? def;
  return {
    scenario,
    model: flags.model,
    profile: extra.profile,
    findMax: extra.findMax,
    thinkMs: file.thinkMs ?? parseDuration(flags.think),
    target,
    url: flags.url ?? `http://127.0.0.1:${config.GATEWAY_PORT || 8080}`,
    batch: flags.batch !== '1' ? int('--batch', flags.batch) : (file.batch ?? 1),
    format: flags.format !== 'json' ? flags.format : (file.format ?? 'json'),
    gzip: flagOr(flags.gzip, file.gzip, false),
    connections: flags.connections ? int('--connections', flags.connections) : (file.connections ?? connectionsDefault),
    window: flags.window !== '16' ? int('--window', flags.window) : (file.window ?? 16),
    apiKey: flags.apiKey ?? config.FLOODGATE_API_KEY ?? undefined,
    timeoutMs: parseDuration(flags.timeout),
    threads: flags.threads !== '2' ? int('--threads', flags.threads) : (file.threads ?? 2),
    eventBytes: flags.eventBytes !== '300' ? int('--event-bytes', flags.eventBytes, 50) : (file.eventBytes ?? 300),
    mix: parseMix(flags.mix !== 'product=6,telemetry=3,iot=1' ? flags.mix : (file.mix ?? flags.mix)),
    seed: int('--seed', flags.seed, 0),
    poolSize: 256,
    maxDurationMs: parseDuration(flags.maxDuration),
    allowLong: flags.allowLong === true,
    allowRemote: flags.allowRemote === true,
    maxEvents: int('--max-events', flags.maxEvents),
    maxQueued: 10_000,
    drainMs: Math.min(parseDuration(flags.timeout) + 1000, 30_000),
    proof: flags.proof,
    proofTimeoutMs: parseDuration(flags.proofTimeout),
    store: flags.store,
    outDir: flags.out,
    stack: {
      kafkaBrokers: config.KAFKA_BROKERS,
      topic: flags.topic ?? config.KAFKA_TOPIC,
      groupId: flags.group ?? config.SINK_GROUP_ID,
      clickhouseUrl: clickhouseUrl(config),
      clickhouseUser: config.CLICKHOUSE_USER,
      clickhousePassword: config.CLICKHOUSE_PASSWORD,
      database: flags.database ?? config.CLICKHOUSE_DATABASE,
      table: flags.table ?? config.SINK_TABLE,
      floodgateHome: config.FLOODGATE_HOME,
    },
    slo: flags.slo === undefined ? undefined : parseSlo(flags.slo),
    command: ['floodgate', 'bench', ...process.argv.slice(3)].map((a) => (/^[\w./:=,@-]+$/.test(a) ? a : JSON.stringify(a))).join(' ').replace(/(--api-key[ =])\S+/, '$1***'),
  };
}

/** Runs with live progress; Ctrl-C stops the load (the proof and report still follow), twice skips the proof, thrice exits. */
async function execute(options: BenchOptions, flags: CommonFlags): Promise<void> {
  const stop = new AbortController();
  const skipProof = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      say('\nbench: stopping the load; the delivery proof and the report follow (Ctrl-C again to skip the proof)');
      stop.abort();
    } else if (interrupts === 2) {
      say('bench: skipping the delivery proof; writing the report (Ctrl-C again to quit at once)');
      skipProof.abort();
    } else {
      process.exit(130);
    }
  };
  // Each Ctrl-C (or SIGTERM) goes one stage further; not tied to a parent: the bench is run by hand.
  const stopListening = onStopRequest(onSigint, { parent: false });
  const tty = process.stderr.isTTY === true;
  let count = 0;
  let lastLength = 0;
  const progress = flags.quiet
    ? undefined
    : (line: string) => {
        if (tty) {
          process.stderr.write(`\r${line.padEnd(lastLength)}`);
          lastLength = line.length;
        } else if (count++ % 5 === 0) process.stderr.write(`${line}\n`);
      };
  say(`bench: ${options.scenario} against ${options.url} (${options.target}, batch ${options.batch}); Ctrl-C stops cleanly`);
  try {
    const report = await runBench(options, {
      stop: stop.signal,
      skipProof: skipProof.signal,
      progress,
      say: (line) => {
        if (tty && lastLength > 0) {
          process.stderr.write('\n');
          lastLength = 0;
        }
        say(line);
      },
    });
    if (tty && lastLength > 0) process.stderr.write('\n');
    process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `\n${renderSummary(report)}\n`);
    // The verdict covers an unreachable target, mostly failed requests, a failed proof and --slo.
    if (report.verdict && !report.verdict.ok) {
      process.exitCode = 1;
      say(`bench: run FAILED: ${report.verdict.reasons.join('; ')}`);
    }
  } finally {
    stopListening();
  }
}

function clickhouseFor(flags: { database?: string }) {
  const config = loadConfig(benchEnvSchema);
  const client = createClickHouse({
    url: clickhouseUrl(config),
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database: 'default',
  });
  return { client, database: flags.database ?? config.CLICKHOUSE_DATABASE };
}

/** `floodgate bench <scenario> | history | compare`. */
export function registerBenchCommands(program: Command): void {
  const bench = program
    .command('bench')
    .description('load generator with delivery proof: scenarios constant, wave, storm, soak, find-max, file; history and compare (docs/bench.md)');

  addCommon(bench.command('constant').description('open model at a constant arrival rate (or --model closed --vus N)'))
    .option('--rate <n>', 'requests (messages) per second')
    .requiredOption('--duration <duration>', 'how long, e.g. 30s')
    .action(async (flags: CommonFlags & { rate?: string; duration: string }) => {
      const durationMs = parseDuration(flags.duration);
      let profile: Profile;
      if (flags.model === 'closed') profile = { start: int('--vus', flags.vus ?? '', 1), stages: [{ durationMs, target: int('--vus', flags.vus ?? '', 1) }] };
      else profile = constantProfile(num('--rate', flags.rate ?? ''), durationMs);
      await execute(buildOptions('constant', flags, { profile }), flags);
    });

  addCommon(bench.command('wave').description('ramp from 0 to --to over --ramp (90 s), hold, optionally ramp down'))
    .requiredOption('--to <n>', 'peak rate (open) or users (closed)')
    .option('--ramp <duration>', 'ramp-up time', '90s')
    .option('--hold <duration>', 'time at the peak', '30s')
    .option('--down <duration>', 'ramp-down time', '0s')
    .action(async (flags: CommonFlags & { to: string; ramp: string; hold: string; down: string }) => {
      const profile = waveProfile(num('--to', flags.to), parseDuration(flags.ramp), parseDuration(flags.hold), parseDuration(flags.down));
      await execute(buildOptions('wave', flags, { profile }), flags);
    });

  addCommon(bench.command('storm').description('from 0 to --to in --ramp (8 s), then hold'))
    .requiredOption('--to <n>', 'peak rate (open) or users (closed)')
    .option('--ramp <duration>', 'ramp-up time', '8s')
    .option('--hold <duration>', 'time at the peak', '30s')
    .action(async (flags: CommonFlags & { to: string; ramp: string; hold: string }) => {
      const profile = stormProfile(num('--to', flags.to), parseDuration(flags.ramp), parseDuration(flags.hold));
      await execute(buildOptions('storm', flags, { profile }), flags);
    });

  addCommon(bench.command('soak').description('long and steady: constant rate for --duration (default 30m; >1h needs --allow-long)'))
    .requiredOption('--rate <n>', 'requests (messages) per second')
    .option('--duration <duration>', 'how long', '30m')
    .action(async (flags: CommonFlags & { rate: string; duration: string }) => {
      const profile = soakProfile(num('--rate', flags.rate), parseDuration(flags.duration));
      await execute(buildOptions('soak', flags, { profile }), flags);
    });

  addCommon(bench.command('find-max').description('step the rate up until p99 passes the objective or errors pass 1 %; report the highest rate that held'))
    .option('--start-rate <n>', 'first step, requests (messages) per second', '200')
    .option('--factor <x>', 'rate multiplier while steps hold', '1.5')
    .option('--max-rate <n>', 'never step above this', '200000')
    .option('--step <duration>', 'length of each step', '10s')
    .option('--cooldown <duration>', 'pause between steps (then wait for consumer lag 0, at most 30 s)', '3s')
    .option('--objective-p99 <duration>', 'latency objective at p99', '100ms')
    .option('--max-error-rate <x>', 'highest error share that holds', '0.01')
    .option('--min-efficiency <x>', 'lowest ok/intended share that holds', '0.97')
    .option('--refine <n>', 'steps after the first failure (bisecting towards the limit)', '3')
    .option('--warmup <duration>', 'a first phase at the start rate that is not judged', '3s')
    .option('--max-steps <n>', 'at most this many steps', '14')
    .action(
      async (
        flags: CommonFlags & { startRate: string; factor: string; maxRate: string; step: string; cooldown: string; objectiveP99: string; maxErrorRate: string; minEfficiency: string; refine: string; maxSteps: string; warmup: string },
      ) => {
        if (flags.model === 'closed') throw new FloodgateError('CONFIG_INVALID', 'find-max steps an arrival rate: use the open model');
        const findMax: FindMaxOptions = {
          startRate: num('--start-rate', flags.startRate),
          factor: num('--factor', flags.factor),
          maxRate: num('--max-rate', flags.maxRate),
          stepMs: parseDuration(flags.step),
          cooldownMs: parseDuration(flags.cooldown),
          objectiveP99Ms: parseDuration(flags.objectiveP99),
          maxErrorRate: Number(flags.maxErrorRate),
          minEfficiency: Number(flags.minEfficiency),
          refineSteps: int('--refine', flags.refine, 0),
          maxSteps: int('--max-steps', flags.maxSteps),
          warmupMs: parseDuration(flags.warmup),
        };
        await execute(buildOptions('find-max', flags, { findMax }), flags);
      },
    );

  addCommon(bench.command('file').description('custom stages from a JSON scenario file (docs/bench.md)'))
    .argument('<path>', 'scenario file')
    .action(async (file: string, flags: CommonFlags) => {
      const scenario = readScenarioFile(file);
      const model = flags.model !== 'open' ? flags.model : scenario.model;
      await execute(buildOptions(`file:${scenario.name}`, { ...flags, model }, { profile: scenario.profile, file: scenario.options }), { ...flags, model });
    });

  addCommon(
    bench
      .command('ceiling')
      .description("measure this machine's ceilings: a bare uWebSockets.js server (parse and answer) under the same generator and request, and Kafka's own ProducerPerformance (acks=all); stored for the runs' fractions"),
  )
    .option('--duration <duration>', 'HTTP: how long the bare server is driven (closed model, one user per connection)', '10s')
    .option('--records <n>', "Kafka: records ProducerPerformance sends", '1000000')
    .option('--record-size <n>', "Kafka: bytes per record (default: the pipeline's Kafka record for the bench's events, measured by normalising a sample)")
    .option('--skip-http', 'measure only the Kafka ceiling')
    .option('--skip-kafka', 'measure only the HTTP ceiling')
    .action(async (flags: CommonFlags & { duration: string; records: string; recordSize?: string; skipHttp?: boolean; skipKafka?: boolean }) => {
      const ceilings = await measureCeilings(flags);
      process.stdout.write(flags.json ? `${JSON.stringify(ceilings, null, 2)}\n` : `${renderCeilings(ceilings).join('\n')}\n`);
    });

  bench
    .command('history')
    .description('the stored runs, newest first (ClickHouse bench_runs)')
    .option('--limit <n>', 'how many', '20')
    .option('--scenario <name>', 'only this scenario')
    .option('--database <db>', 'ClickHouse database (default $CLICKHOUSE_DATABASE)')
    .option('--json', 'as JSON')
    .action(async (flags: { limit: string; scenario?: string; database?: string; json?: boolean }) => {
      const { client, database } = clickhouseFor(flags);
      try {
        const rows = await listRuns(client, database, int('--limit', flags.limit), flags.scenario);
        process.stdout.write(flags.json ? `${JSON.stringify(rows.map(historyJson), null, 2)}\n` : `${renderHistory(rows)}\n`);
      } finally {
        await client.close();
      }
    });

  bench
    .command('compare')
    .description('two stored runs side by side (ids or unique id prefixes)')
    .argument('<a>', 'run id (baseline)')
    .argument('<b>', 'run id')
    .option('--database <db>', 'ClickHouse database (default $CLICKHOUSE_DATABASE)')
    .option('--json', 'both reports as JSON')
    .action(async (a: string, b: string, flags: { database?: string; json?: boolean }) => {
      const { client, database } = clickhouseFor(flags);
      try {
        const [ra, rb] = await Promise.all([getRun(client, database, a), getRun(client, database, b)]);
        process.stdout.write(flags.json ? `${JSON.stringify({ a: ra, b: rb }, null, 2)}\n` : `${renderCompare(ra, rb)}\n`);
      } finally {
        await client.close();
      }
    });

}

/**
 * `bench ceiling`: the bare server driven by the bench's own generator (same request, threads and
 * connections as the other scenarios), then ProducerPerformance on a throw-away topic shaped like
 * the pipeline's (partitions, replication); both stored in bench_ceilings unless --no-store.
 */
async function measureCeilings(flags: CommonFlags & { duration: string; records: string; recordSize?: string; skipHttp?: boolean; skipKafka?: boolean }): Promise<Ceiling[]> {
  const config = loadConfig(benchEnvSchema);
  const id = newRunId();
  const host = os.hostname();
  const nproc = os.availableParallelism();
  const out: Ceiling[] = [];
  const durationMs = parseDuration(flags.duration);
  if (!flags.skipHttp) {
    const server = await startBareServer();
    try {
      const base = buildOptions('ceiling', flags, {});
      const vus = base.connections;
      say(`bench ceiling: HTTP: a bare uWebSockets.js server (pid ${server.pid}) for ${flags.duration}, ${vus} connections, batch ${base.batch}`);
      const report = await runBench(
        { ...base, url: server.url, model: 'closed', profile: { start: vus, stages: [{ durationMs, target: vus }] }, thinkMs: 0, apiKey: undefined, proof: false, store: false, preflight: false, ceilings: false, runId: `${id}-http` },
        { say },
      );
      if (report.totals.ok === 0) throw new FloodgateError('BENCH_CEILING_FAILED', `the bare server answered no request ok (${report.errors.map((e) => `${e.key}: ${e.count}`).join(', ')})`);
      out.push({
        id: `${id}-http`,
        measuredAt: report.startedAt,
        kind: 'http',
        batch: base.batch,
        rate: report.totals.achievedRate,
        eventsPerSecond: report.totals.eventsPerSecond,
        p99Ms: report.latencyMs.p99,
        recordSize: base.eventBytes,
        host,
        nproc,
        gitCommit: report.git.commit,
        detail: { connections: report.target.connections, threads: report.load.threads, loadSeconds: report.loadSeconds, failed: report.totals.failed, format: base.format, gzip: base.gzip, report: report.files.json, resources: report.resources.summary },
      });
    } finally {
      await server.close();
    }
  }
  if (!flags.skipKafka) {
    const cache = config.FLOODGATE_CACHE ?? path.join(config.FLOODGATE_HOME, 'cache');
    const logFile = path.join(config.FLOODGATE_HOME, 'logs', 'kafka-fetch.log');
    const libs = await ensureKafkaJars(cache, logFile, say);
    const toolsJar = await ensureKafkaToolsJar(cache, logFile, say);
    const java = await findJava();
    // Default: the Kafka record the pipeline writes for the bench's events (after normalisation).
    const base = buildOptions('ceiling', flags, {});
    const recordSize = flags.recordSize ? int('--record-size', flags.recordSize) : pipelineRecordBytes(base);
    const records = int('--records', flags.records);
    const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'floodgate-bench-ceiling', // Logs on stderr: stdout carries the result (--json).
      logger: createLogger('bench', { level: process.env.LOG_LEVEL ?? 'warn' }, process.stderr) });
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Shaped like the pipeline's topic, so the producer spreads over as many partitions.
      let partitions = config.KAFKA_PARTITIONS;
      let replicationFactor = config.KAFKA_REPLICATION_FACTOR;
      const topic = flags.topic ?? config.KAFKA_TOPIC;
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
      const shape = metadata?.topics[0]?.partitions;
      if (shape && shape.length > 0) {
        partitions = shape.length;
        replicationFactor = shape[0]!.replicas.length;
      }
      const ceilingTopic = `floodgate-ceiling-${id}`;
      say(`bench ceiling: Kafka: ProducerPerformance ${records} records of ${recordSize} B, acks=all, idempotent, to ${ceilingTopic} (${partitions} partitions, replication ${replicationFactor}; deleted afterwards)`);
      const started = new Date().toISOString();
      const result = await runProducerPerformance({
        java,
        classpath: `${kafkaClasspath(libs)}${path.delimiter}${toolsJar}`,
        brokers: config.KAFKA_BROKERS,
        records,
        recordSize,
        topic: ceilingTopic,
        partitions,
        replicationFactor,
        admin,
        timeoutMs: 10 * 60_000,
      });
      out.push({
        id: `${id}-kafka`,
        measuredAt: started,
        kind: 'kafka',
        batch: 1,
        rate: result.recordsPerSecond,
        eventsPerSecond: result.recordsPerSecond,
        p99Ms: result.p99Ms,
        recordSize,
        host,
        nproc,
        gitCommit: '',
        detail: { records: result.records, mbPerSecond: result.mbPerSecond, avgLatencyMs: result.avgLatencyMs, maxLatencyMs: result.maxLatencyMs, p50Ms: result.p50Ms, p95Ms: result.p95Ms, p999Ms: result.p999Ms, partitions, replicationFactor, acks: 'all', idempotence: true },
      });
    } finally {
      await admin.disconnect();
    }
  }
  if (flags.store && out.length > 0) {
    const { client, database } = clickhouseFor(flags);
    try {
      await storeCeilings(client, database, out);
      say(`bench ceiling: stored in ${database}.bench_ceilings`);
    } finally {
      await client.close();
    }
  }
  return out;
}
