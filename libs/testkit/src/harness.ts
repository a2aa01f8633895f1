/**
 * Helpers for integration tests on the shared stack (written for the sink's, used by any): per-test names (topic, group,
 * NATS prefix, database), real sink / supervisor / chdb-server processes, a Kafka load generator
 * writing events exactly as the ingest worker does, and ClickHouse / NATS probes.
 */
import { AssertionError } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CompressionTypes, Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { v7 as uuidv7 } from 'uuid';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { clickhouseUrl, type StackConfig } from '@floodgate/config';
import type { NormalisedEvent } from '@floodgate/event-model';
import { createLogger } from '@floodgate/logging';
import { connectNats, destroyBucket, type NatsConnection } from '@floodgate/nats';
import { readMembers, sinkControlPlane, type Members } from '@floodgate/sink-protocol';
import { uniqueName } from './names.ts';
import { stackConfigForTests } from './stack.ts';
import { waitFor } from './wait.ts';
import { consumerLag, type PartitionLag } from '@floodgate/kafka';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'sink');

export interface TestNames {
  label: string;
  topic: string;
  dlqTopic: string;
  group: string;
  prefix: string;
  database: string;
}

export function testNames(label: string): TestNames {
  return {
    label,
    topic: uniqueName(`it_${label}`),
    dlqTopic: uniqueName(`it_${label}_dlq`),
    group: uniqueName(`it_${label}_sink`),
    prefix: uniqueName(`it_${label}`),
    database: uniqueName(`it_${label}`),
  };
}

/** Sink settings for tests: quick failure detection, short flush age, small heartbeats. */
export function sinkEnv(names: TestNames, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    KAFKA_TOPIC: names.topic,
    KAFKA_DLQ_TOPIC: names.dlqTopic,
    KAFKA_PARTITIONS: '6',
    SINK_GROUP_ID: names.group,
    SINK_NATS_PREFIX: names.prefix,
    CLICKHOUSE_DATABASE: names.database,
    SINK_ADMIN_PORT: '0',
    SINK_SESSION_TIMEOUT_MS: '6000',
    SINK_HEARTBEAT_INTERVAL_MS: '500',
    SINK_REBALANCE_TIMEOUT_MS: '10000',
    SINK_MEMBER_HEARTBEAT_MS: '500',
    SINK_MEMBER_TTL_MS: '3000',
    SINK_FLUSH_MAX_AGE_MS: '300',
    SINK_RETRY_INITIAL_MS: '100',
    SINK_RETRY_MAX_MS: '1000',
    SINK_SHUTDOWN_TIMEOUT_MS: '15000',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

export interface LogEntry {
  level?: string;
  msg?: string;
  pid?: number;
  [key: string]: unknown;
}

/** A child process whose JSON log lines are kept (and written to test-artifacts/sink/). */
export class AppProcess {
  readonly entries: LogEntry[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();
  private readonly file: WriteStream;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    mkdirSync(ARTIFACTS, { recursive: true });
    this.file = createWriteStream(path.join(ARTIFACTS, `${name}.log`), { flags: 'a' });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.file.write(`${line}\n`);
        if (!line.startsWith('{')) return;
        try {
          const entry = JSON.parse(line) as LogEntry;
          this.entries.push(entry);
          if ((entry.level === 'error' || entry.level === 'fatal') && entry.component !== 'kafkajs') process.stderr.write(`[${name}] ${line}\n`);
          for (const wake of this.waiters) wake();
        } catch {
          // not one of our lines
        }
      });
    }
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => this.file.end());
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first log entry matching `test` among those from index `after` on (seen or to come). */
  async waitForLog(test: (entry: LogEntry) => boolean, timeoutMs = 30_000, what = 'a log line', after = 0): Promise<LogEntry> {
    const find = () => {
      for (let i = after; i < this.entries.length; i++) if (test(this.entries[i]!)) return this.entries[i];
      return undefined;
    };
    const found = find();
    if (found) return found;
    return new Promise<LogEntry>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new AssertionError({ message: `${this.name}: no ${what} within ${timeoutMs} ms` }));
      }, timeoutMs);
      const check = () => {
        const hit = find();
        if (hit) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve(hit);
        }
      };
      this.waiters.add(check);
      void this.exited.then(() => {
        if (!this.waiters.has(check)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        reject(new AssertionError({ message: `${this.name} exited while waiting for ${what}` }));
      });
    });
  }

  count(test: (entry: LogEntry) => boolean): number {
    return this.entries.filter(test).length;
  }

  /** SIGTERM (graceful), SIGKILL after the bound. */
  async stop(timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/**
 * Extra node flags for every app a test or bench script starts, from TEST_APP_NODE_ARGS
 * (space-separated), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the sink under
 * bench-sink.ts: node refuses --cpu-prof in NODE_OPTIONS. Not FLOODGATE_-prefixed: the apps refuse
 * unknown variables of theirs.
 */
function appNodeArgs(): string[] {
  return (process.env.TEST_APP_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

function startNode(name: string, entry: string, env: NodeJS.ProcessEnv): AppProcess {
  const child = spawn(process.execPath, [...appNodeArgs(), '--import', 'tsx', path.join(REPO_ROOT, entry)], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new AppProcess(name, child);
}

/** One sink process (apps/sink-worker/src/main.ts), as soon as it is spawned. */
export function launchSink(names: TestNames, extra: NodeJS.ProcessEnv = {}, tag = 'sink'): AppProcess {
  return startNode(`${names.label}-${tag}-${Date.now()}`, 'apps/sink-worker/src/main.ts', sinkEnv(names, extra));
}

/** One sink process (apps/sink-worker/src/main.ts), resolved once it consumes. */
export async function startSink(names: TestNames, extra: NodeJS.ProcessEnv = {}, tag = 'sink'): Promise<AppProcess> {
  const app = launchSink(names, extra, tag);
  await app.waitForLog((e) => e.msg === 'sink consuming', 60_000, '"sink consuming"');
  return app;
}

/** The sink supervisor (node:cluster primary), resolved once it runs; its processes log to the same stream. */
export async function startSupervisor(names: TestNames, processes: number, extra: NodeJS.ProcessEnv = {}): Promise<AppProcess> {
  const app = startNode(`${names.label}-supervisor-${Date.now()}`, 'apps/sink-worker/src/supervisor-main.ts', sinkEnv(names, { SINK_PROCESSES: String(processes), ...extra }));
  await app.waitForLog((e) => e.msg === 'sink supervisor running', 60_000, '"sink supervisor running"');
  return app;
}

/** Runs the `floodgate` CLI with the test's environment. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'apps/cli/src/main.ts'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A private chdb-server process (its own data folder and port), for tests that stop ClickHouse. */
export async function startChdbServer(label: string, port: number, dataDir: string): Promise<AppProcess> {
  // The same credentials as the shared endpoint: the sinks under test read those (the stack's
  // credentials.json applies to every ClickHouse on this machine).
  const stack = stackConfigForTests();
  const app = startNode(`${label}-chdb-${Date.now()}`, 'apps/chdb-server/src/main.ts', {
    CHDB_SERVER_PORT: String(port),
    CHDB_DATA_DIR: dataDir,
    CHDB_SERVER_USER: stack.CLICKHOUSE_USER,
    CHDB_SERVER_PASSWORD: stack.CLICKHOUSE_PASSWORD,
    LOG_LEVEL: 'info',
  });
  await app.waitForLog((e) => e.msg === 'chdb-server listening', 60_000, '"chdb-server listening"');
  return app;
}

// --- Kafka ------------------------------------------------------------------------------------

export function testKafka(stack: StackConfig): Kafka {
  return new Kafka({ brokers: stack.KAFKA_BROKERS, clientId: 'sink-it', logLevel: logLevel.NOTHING });
}

/** Creates topics and waits until every partition has a leader (retrying Kafka's transient metadata errors). */
export async function createTopics(kafka: Kafka, topics: string[], partitions = 6): Promise<void> {
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  try {
    await waitFor(
      async () => {
        const existing = new Set(await kafkaAdmin.listTopics());
        const missing = topics.filter((t) => !existing.has(t));
        if (missing.length > 0) {
          await kafkaAdmin.createTopics({ topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
        }
        const metadata = await kafkaAdmin.fetchTopicMetadata({ topics });
        return metadata.topics.every((t) => t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0));
      },
      { timeoutMs: 30_000, intervalMs: 250, description: `topics ${topics.join(', ')} with leaders` },
    );
  } finally {
    await kafkaAdmin.disconnect();
  }
}

export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  try {
    await kafkaAdmin.deleteTopics({ topics, timeout: 10_000 }).catch(() => {});
  } finally {
    await kafkaAdmin.disconnect();
  }
}

/** What the ingest worker puts on the topic. */
export type TestEvent = NormalisedEvent;

export function newEvent(n: number, overrides: Partial<TestEvent> = {}): TestEvent {
  const now = new Date().toISOString();
  return { id: uuidv7(), tenant: 'default', type: 'load', source: 'it', subject: '', time: now, received_at: now, data: { n }, ...overrides };
}

/** A Kafka message exactly as apps/ingest-worker's toKafkaMessage writes it. */
export function toMessage(event: TestEvent): { key: string; value: string; headers: Record<string, string> } {
  return {
    key: `${event.tenant}/${event.subject || event.id}`,
    value: JSON.stringify(event),
    headers: { 'event-id': event.id, 'received-at': event.received_at },
  };
}

/** Produces events as the ingest worker does (idempotent, acks=all, murmur2 by key). */
export class EventProducer {
  readonly ids: string[] = [];
  private readonly producer: Producer;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private n = 0;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
  ) {
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async disconnect(): Promise<void> {
    await this.stopSteady();
    await this.producer.disconnect();
  }

  /** Sends messages (raw values allowed, for poison) and waits for acks=all. */
  async sendRaw(messages: Array<{ key: string; value: string; headers?: Record<string, string> }>): Promise<void> {
    await this.producer.send({ topic: this.topic, acks: -1, compression: CompressionTypes.GZIP, messages });
  }

  async send(count: number, overrides: Partial<TestEvent> = {}): Promise<TestEvent[]> {
    const events = Array.from({ length: count }, () => newEvent(this.n++, overrides));
    for (let i = 0; i < events.length; i += 1000) await this.sendRaw(events.slice(i, i + 1000).map(toMessage));
    for (const e of events) this.ids.push(e.id);
    return events;
  }

  /** Sends `perSecond` events a second in 10 batches a second until stopSteady(). */
  startSteady(perSecond: number): void {
    if (this.running) return;
    this.running = true;
    const batch = Math.max(1, Math.round(perSecond / 10));
    this.loop = (async () => {
      while (this.running) {
        const started = Date.now();
        await this.send(batch);
        await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
      }
    })();
  }

  async stopSteady(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

export async function groupLag(kafka: Kafka, group: string, topic: string): Promise<PartitionLag[]> {
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  try {
    return await consumerLag(kafkaAdmin, group, topic);
  } finally {
    await kafkaAdmin.disconnect();
  }
}

export async function waitForLagZero(kafka: Kafka, names: TestNames, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => (await groupLag(kafka, names.group, names.topic)).every((p) => p.lag === 0 && p.committed !== null), {
    timeoutMs,
    intervalMs: 500,
    description: `consumer lag 0 on every partition of ${names.topic}`,
  });
}

// --- ClickHouse -------------------------------------------------------------------------------

export function testClickHouse(stack: StackConfig, url = clickhouseUrl(stack)): ClickHouseClient {
  return createClient({ url, username: stack.CLICKHOUSE_USER, password: stack.CLICKHOUSE_PASSWORD, database: 'default', request_timeout: 30_000 });
}

export async function scalar<T = number>(clickhouse: ClickHouseClient, query: string, params: Record<string, unknown> = {}): Promise<T> {
  const result = await clickhouse.query({ query, query_params: params, format: 'JSONEachRow' });
  const rows = await result.json<Record<string, unknown>>();
  const value = rows[0] ? Object.values(rows[0])[0] : undefined;
  return (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value) as T;
}

/** Rows, distinct ids, and whether the ids are exactly the produced ones. */
export async function tableTotals(clickhouse: ClickHouseClient, database: string): Promise<{ rows: number; distinct: number }> {
  const result = await clickhouse.query({ query: `SELECT count() AS rows, uniqExact(id) AS distinct FROM ${database}.events`, format: 'JSONEachRow' });
  const [row] = await result.json<{ rows: string; distinct: string }>();
  return { rows: Number(row?.rows ?? 0), distinct: Number(row?.distinct ?? 0) };
}

export async function tableIds(clickhouse: ClickHouseClient, database: string): Promise<string[]> {
  const result = await clickhouse.query({ query: `SELECT id FROM ${database}.events`, format: 'JSONCompactEachRow' });
  return (await result.json<[string]>()).map(([id]) => id);
}

/** Waits until the table holds at least `count` rows. */
export async function waitForRows(clickhouse: ClickHouseClient, database: string, count: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => (await tableTotals(clickhouse, database).catch(() => ({ rows: -1 }))).rows >= count, {
    timeoutMs,
    intervalMs: 500,
    description: `${count} rows in ${database}.events`,
  });
}

/** Asserts-friendly summary: the table holds each produced id exactly once, and nothing else. */
export async function exactlyOnce(clickhouse: ClickHouseClient, database: string, produced: readonly string[]): Promise<{ rows: number; distinct: number; missing: number; extra: number }> {
  const ids = await tableIds(clickhouse, database);
  const expected = new Set(produced);
  const seen = new Set(ids);
  let missing = 0;
  for (const id of expected) if (!seen.has(id)) missing++;
  let extra = 0;
  for (const id of seen) if (!expected.has(id)) extra++;
  return { rows: ids.length, distinct: seen.size, missing, extra };
}

// --- NATS -------------------------------------------------------------------------------------

export type MembersView = Members;

export class ControlPlaneProbe {
  private constructor(
    readonly nc: NatsConnection,
    private readonly names: TestNames,
  ) {}

  static async open(stack: StackConfig, names: TestNames): Promise<ControlPlaneProbe> {
    const nc = await connectNats({ config: stack, name: `sink-it-${names.label}`, logger: createLogger('sink-it', { level: 'silent' }) });
    return new ControlPlaneProbe(nc, names);
  }

  members(): Promise<MembersView> {
    return readMembers(this.nc, this.names.prefix);
  }

  /** Live processes that together own every one of `partitions` partitions, each once. */
  async waitForOwners(processes: number, partitions = 6, timeoutMs = 60_000): Promise<MembersView> {
    return waitFor(
      async () => {
        const view = await this.members();
        const owned = view.processes.flatMap((p) => p.partitions).sort((a, b) => a - b);
        const ok =
          view.processes.length === processes &&
          view.processes.every((p) => p.state === 'running' && p.partitions.length > 0) &&
          owned.join(',') === Array.from({ length: partitions }, (_, i) => i).join(',');
        return ok ? view : undefined;
      },
      { timeoutMs, intervalMs: 250, description: `${processes} live sink processes owning all ${partitions} partitions` },
    );
  }

  async close(): Promise<void> {
    const plane = sinkControlPlane(this.names.prefix);
    await destroyBucket(this.nc, plane.membersBucket);
    await destroyBucket(this.nc, plane.batchesBucket);
    await this.nc.close();
  }
}

