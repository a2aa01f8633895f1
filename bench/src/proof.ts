import type { ClickHouseClient } from '@clickhouse/client';
import type { Admin } from 'kafkajs';
import { joinOffsets, lagOf, readPartitionOffsets, type PartitionOffsets } from '@floodgate/kafka';
import type { LatencySummary } from './histogram.ts';

/**
 * The delivery proof: after the run, wait until the sink's consumer group has no lag on the topic,
 * then count this run's rows in ClickHouse. Accepted events must all be there, exactly once.
 */

/** Lag of one partition as the bench reports it: -1 for a partition the group never committed. */
export interface PartitionLag {
  partition: number;
  committed: number;
  high: number;
  lag: number;
}

function report(offsets: ReadonlyMap<number, PartitionOffsets>): { total: number; partitions: PartitionLag[] } {
  const partitions = lagOf(offsets).map((p) => ({ partition: p.partition, committed: p.committed ?? -1, high: p.end, lag: p.lag }));
  return { total: partitions.reduce((sum, p) => sum + p.lag, 0), partitions };
}

/**
 * Lag per partition: high watermark minus the group's committed offset. A partition the group never
 * committed (-1) counts from its low watermark, so an empty partition has no lag.
 */
export function computeLag(
  committed: { partition: number; offset: string }[],
  topicOffsets: { partition: number; high: string; low: string }[],
): { total: number; partitions: PartitionLag[] } {
  return report(joinOffsets(committed, topicOffsets));
}

export async function consumerLag(kafkaAdmin: Admin, groupId: string, topic: string) {
  return report(await readPartitionOffsets(kafkaAdmin, groupId, topic));
}

export interface DeliveryCounts {
  /** Events the gateway acknowledged (2xx / ack). */
  acknowledged: number;
  /** Events of failed requests whose fate is unknown (timeouts, dropped connections, 5xx). */
  ambiguous: number;
  /** Rows of this run in the raw events table. */
  rows: number;
  distinctIds: number;
  /** Ids that occur in more than one row, and the surplus rows they make. */
  duplicateIds: number;
  duplicateRows: number;
}

export interface DeliveryVerdict {
  /** No acknowledged event is missing, no id is duplicated, and any extra row is explained by an ambiguous failure. */
  ok: boolean;
  /** rows = distinct ids = acknowledged, duplicates 0. */
  exact: boolean;
  missing: number;
  extra: number;
  reason: string;
}

export function judgeDelivery(c: DeliveryCounts): DeliveryVerdict {
  const missing = Math.max(0, c.acknowledged - c.distinctIds);
  const extra = Math.max(0, c.distinctIds - c.acknowledged);
  const exact = c.rows === c.acknowledged && c.distinctIds === c.acknowledged && c.duplicateIds === 0;
  const problems: string[] = [];
  if (missing > 0) problems.push(`${missing} acknowledged event(s) missing`);
  if (c.duplicateIds > 0) problems.push(`${c.duplicateIds} id(s) duplicated (${c.duplicateRows} surplus row(s))`);
  if (extra > c.ambiguous) problems.push(`${extra} row(s) more than acknowledged, only ${c.ambiguous} event(s) had an unknown outcome`);
  const ok = problems.length === 0;
  let reason: string;
  if (!ok) reason = problems.join('; ');
  // Nothing was acknowledged and nothing landed: there is nothing to prove, which is no success.
  else if (c.acknowledged === 0 && c.rows === 0) reason = 'nothing to prove: no event was acknowledged';
  else if (exact) reason = `all ${c.acknowledged} acknowledged events landed exactly once`;
  else reason = `all ${c.acknowledged} acknowledged events landed exactly once; ${extra} more from requests whose answer was lost (at-least-once from the client's view)`;
  return { ok, exact, missing, extra, reason };
}

export interface ProofQueryOptions {
  database: string;
  table: string;
  runId: string;
  /** Lower bound on event time (ISO), to prune partitions; the run's start less a margin. */
  since: string;
}

/** This run's rows: the bench's `bench.` type prefix and the run id in `data.run_id`. */
export function runFilter(): string {
  return `type LIKE 'bench.%' AND JSONExtractString(data, 'run_id') = {run_id:String} AND time >= parseDateTime64BestEffort({since:String}, 3)`;
}

export function proofQueries(o: ProofQueryOptions) {
  const from = `${o.database}.${o.table}`;
  const where = runFilter();
  const ms = 'toUnixTimestamp64Milli(inserted_at) - toUnixTimestamp64Milli(received_at)';
  return {
    counts: `SELECT count() AS rows, uniqExact(id) AS ids FROM ${from} WHERE ${where}`,
    duplicates: `SELECT count() AS dup_ids, sum(c - 1) AS dup_rows FROM (SELECT id, count() AS c FROM ${from} WHERE ${where} GROUP BY id HAVING c > 1)`,
    e2e: `SELECT quantilesExact(${E2E_POINTS.map((p) => p / 100).join(', ')})(ms) AS q, avg(ms) AS mean, max(ms) AS max, count() AS n FROM (SELECT ${ms} AS ms FROM ${from} WHERE ${where})`,
    e2eOverTime: `SELECT toUnixTimestamp(received_at) AS s, count() AS n, quantileExact(0.5)(ms) AS p50, quantileExact(0.99)(ms) AS p99, max(ms) AS max FROM (SELECT received_at, ${ms} AS ms FROM ${from} WHERE ${where}) GROUP BY s ORDER BY s LIMIT 20000`,
    params: { run_id: o.runId, since: o.since },
  };
}

export const E2E_POINTS = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100];

export interface EndToEnd extends LatencySummary {
  /** Latency by percentile, for the distribution chart. */
  curve: { percentile: number; ms: number }[];
  /** Per second of receive time. */
  overTime: { t: number; n: number; p50: number; p99: number; max: number }[];
}

export interface DeliveryProof extends DeliveryCounts, DeliveryVerdict {
  checked: true;
  lagWaitMs: number;
  lagAtEnd: number;
  /** Lag did not reach 0 within the bound: the counts may still grow. */
  lagTimedOut: boolean;
  e2eMs: EndToEnd;
}

export interface ProveOptions extends ProofQueryOptions {
  clickhouse: ClickHouseClient;
  kafkaAdmin: Admin;
  groupId: string;
  topic: string;
  acknowledged: number;
  ambiguous: number;
  timeoutMs: number;
  t0Ms: number;
  say?: (line: string) => void;
  /** True: stop waiting (Ctrl-C twice) and throw. */
  shouldAbort?: () => boolean;
  /**
   * A new connected admin client, used when a lag read does not answer within `lagReadTimeoutMs`:
   * a kafkajs client whose broker was frozen and continued can keep a request queued for ever.
   */
  freshAdmin?: () => Promise<Admin>;
  lagReadTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function queryRows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

/** `work`, or a rejection once `ms` passed without an answer. */
function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export async function proveDelivery(o: ProveOptions): Promise<DeliveryProof> {
  const started = Date.now();
  const deadline = started + o.timeoutMs;
  let kafkaAdmin = o.kafkaAdmin;
  const readTimeout = o.lagReadTimeoutMs ?? 20_000;
  // Until the deadline, a lag read that hangs or fails is tried again with a new admin client (when
  // one can be made); the last failure is thrown only when no read succeeded by the deadline.
  const readLag = async (): Promise<Awaited<ReturnType<typeof consumerLag>>> => {
    for (;;) {
      try {
        return await within(readTimeout, 'reading the consumer lag', consumerLag(kafkaAdmin, o.groupId, o.topic));
      } catch (error) {
        if (!o.freshAdmin || Date.now() >= deadline) throw error;
        o.say?.(`delivery proof: ${(error as Error).message}; trying again with a new Kafka admin client`);
        await sleep(500);
        kafkaAdmin = await within(readTimeout, 'connecting a new admin client', o.freshAdmin()).catch(() => kafkaAdmin);
      }
    }
  };
  let lag = await readLag();
  let lastSaid = 0;
  while (lag.total > 0 && Date.now() < deadline) {
    if (o.shouldAbort?.()) throw new Error('skipped while waiting for consumer lag (interrupted twice)');
    if (Date.now() - lastSaid > 5000) {
      o.say?.(`delivery proof: waiting for consumer lag of group ${o.groupId} to reach 0 (now ${lag.total})`);
      lastSaid = Date.now();
    }
    await sleep(250);
    lag = await readLag();
  }
  const lagWaitMs = Date.now() - started;
  const q = proofQueries(o);
  const count = async () => {
    const [c] = await queryRows<{ rows: unknown; ids: unknown }>(o.clickhouse, q.counts, q.params);
    const [d] = await queryRows<{ dup_ids: unknown; dup_rows: unknown }>(o.clickhouse, q.duplicates, q.params);
    return {
      acknowledged: o.acknowledged,
      ambiguous: o.ambiguous,
      rows: Number(c?.rows ?? 0),
      distinctIds: Number(c?.ids ?? 0),
      duplicateIds: Number(d?.dup_ids ?? 0),
      duplicateRows: Number(d?.dup_rows ?? 0),
    };
  };
  // Offsets are committed after the insert, so lag 0 means the rows are in; a sink that commits
  // first would show here as missing rows, so give it a short grace before judging.
  let counts = await count();
  const graceUntil = Math.min(deadline, Date.now() + 5000);
  while (counts.distinctIds < counts.acknowledged && Date.now() < graceUntil) {
    await sleep(250);
    counts = await count();
  }
  const [e] = await queryRows<{ q: unknown[]; mean: unknown; max: unknown; n: unknown }>(o.clickhouse, q.e2e, q.params);
  const qs = (e?.q ?? []).map(Number);
  const at = (p: number) => Math.round((qs[E2E_POINTS.indexOf(p)] ?? 0) * 1000) / 1000;
  const over = await queryRows<{ s: unknown; n: unknown; p50: unknown; p99: unknown; max: unknown }>(o.clickhouse, q.e2eOverTime, q.params);
  const e2eMs: EndToEnd = {
    count: Number(e?.n ?? 0),
    mean: Math.round(Number(e?.mean ?? 0) * 10) / 10,
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
    max: Number(e?.max ?? 0),
    curve: Number(e?.n ?? 0) > 0 ? E2E_POINTS.map((p) => ({ percentile: p, ms: at(p) })) : [],
    overTime: over.map((r) => ({ t: Number(r.s) - o.t0Ms / 1000, n: Number(r.n), p50: Number(r.p50), p99: Number(r.p99), max: Number(r.max) })),
  };
  return { checked: true, ...counts, ...judgeDelivery(counts), lagWaitMs, lagAtEnd: lag.total, lagTimedOut: lag.total > 0, e2eMs };
}
