import type { ClickHouseClient } from '@clickhouse/client';

export interface Migration {
  version: number;
  name: string;
  /** Statements; `{db}` is replaced by the database name. Each must be idempotent on its own. */
  statements: string[];
  /** A step SQL alone cannot make idempotent, run after the statements; it must be safe to run again. */
  apply?: (client: ClickHouseClient, database: string) => Promise<void>;
}

/**
 * Which part of the schema owns which migration versions (inclusive): a part's process applies
 * only its own range (`migrate(..., { versions: MIGRATION_RANGES.traces })`), never the others.
 */
export const MIGRATION_RANGES = {
  /** The events table and its views (apps/sink-worker). */
  events: [1, 19],
  /** The bench's tables (bench/). */
  bench: [20, 29],
  /** The trace store (libs/telemetry, docs/tracing.md). */
  traces: [30, 39],
} as const satisfies Record<string, readonly [number, number]>;

/**
 * The schema, in order. Never edit an applied migration: add a new one. Every statement is
 * idempotent, so a migration interrupted half-way is simply run again.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events table',
    // (Migration 3 adds `source` to the key: an event is identified by its tenant, source and id.)
    // ReplacingMergeTree keyed on (tenant, type, id): a client that retries with the same event id
    // gets one row in query results (FINAL, or the events_unique view), even when the retry got a
    // new receive time, which is why `time` is not in the sorting key (docs/sink.md). A minmax
    // index on `time` keeps time-range queries pruned. The deduplication window keeps the last
    // 10,000 insert tokens: a batch re-sent by the sink after a crash or rebalance is dropped.
    // The constraints make a row without id or type a rejection (dead-lettered), not a bad row.
    statements: [
      eventsTable('tenant, type, id'),
    ],
  },
  {
    version: 2,
    name: 'events_unique view',
    // The events table with client retries collapsed, for tools that cannot add FINAL. The `final`
    // setting (rather than FINAL) keeps this statement valid on any engine.
    statements: [`CREATE VIEW IF NOT EXISTS {db}.events_unique AS SELECT * FROM {db}.events SETTINGS final = 1`],
  },
  {
    version: 3,
    name: 'events identified by tenant, source and id',
    // CloudEvents makes only source + id unique: two events with id "1" from /a and /b are two
    // events, so `source` joins the sorting key the ReplacingMergeTree collapses on. ClickHouse
    // cannot put an existing column into a sorting key (only new columns without defaults, at the
    // end), so the table is rebuilt: see rekeyEvents.
    statements: [],
    apply: (client, database) => rekeyEvents(client, database),
  },
  {
    // Versions 4..19 are kept for the events-table work; the bench's tables start at 20.
    // One row per `floodgate bench` run: the headline numbers as columns (for `bench history`),
    // the whole JSON report in `report` (for `bench compare`). Replacing on run_id, so storing a
    // run twice keeps one row.
    version: 20,
    name: 'bench_runs table',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.bench_runs (
        run_id String,
        started_at DateTime64(3, 'UTC'),
        finished_at DateTime64(3, 'UTC'),
        scenario LowCardinality(String),
        target LowCardinality(String),
        url String,
        model LowCardinality(String),
        batch UInt32,
        gzip UInt8,
        threads UInt16,
        connections UInt32,
        target_rate Float64,
        achieved_rate Float64,
        events_per_second Float64,
        efficiency Float64,
        requests UInt64,
        ok UInt64,
        errors UInt64,
        events_acked UInt64,
        p50_ms Float64,
        p90_ms Float64,
        p95_ms Float64,
        p99_ms Float64,
        p999_ms Float64,
        max_ms Float64,
        e2e_p50_ms Float64,
        e2e_p99_ms Float64,
        e2e_max_ms Float64,
        delivery LowCardinality(String),
        delivered_rows UInt64,
        duplicate_ids UInt64,
        max_held_rate Float64,
        interrupted UInt8,
        git_commit String,
        host String,
        nproc UInt16,
        report String
      )
      ENGINE = ReplacingMergeTree
      ORDER BY run_id`,
    ],
  },
  {
    // One row per ceiling `floodgate bench ceiling` measured (bench/src/ceiling.ts): the bare HTTP
    // server at a batch size, or Kafka's own producer at a record size. Runs print their rate as a
    // fraction of the newest ceiling of their host. Replacing on (kind, id): storing twice keeps one.
    version: 21,
    name: 'bench_ceilings table',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.bench_ceilings (
        id String,
        measured_at DateTime64(3, 'UTC'),
        kind LowCardinality(String),
        batch UInt32,
        rate Float64,
        events_per_second Float64,
        p99_ms Float64,
        record_size UInt32,
        host String,
        nproc UInt16,
        git_commit String,
        detail String
      )
      ENGINE = ReplacingMergeTree
      ORDER BY (kind, id)`,
    ],
  },
  // Versions 30..39: the trace store (libs/telemetry, docs/tracing.md).
  {
    version: 30,
    name: 'trace store: otel_traces and its trace id lookup',
    // The OpenTelemetry Collector ClickHouse exporter's traces schema, column for column, so
    // Grafana's ClickHouse data source (and any tool made for that exporter) reads it as is. Spans
    // are diagnostics: they expire after 72 hours, whole daily parts at a time. The lookup table
    // and view are the collector's too: where a trace id starts and ends, to bound the time range
    // of a trace query.
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.otel_traces (
        Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
        TraceId String CODEC(ZSTD(1)),
        SpanId String CODEC(ZSTD(1)),
        ParentSpanId String CODEC(ZSTD(1)),
        TraceState String CODEC(ZSTD(1)),
        SpanName LowCardinality(String) CODEC(ZSTD(1)),
        SpanKind LowCardinality(String) CODEC(ZSTD(1)),
        ServiceName LowCardinality(String) CODEC(ZSTD(1)),
        ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        ScopeName String CODEC(ZSTD(1)),
        ScopeVersion String CODEC(ZSTD(1)),
        SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        Duration UInt64 CODEC(T64, ZSTD(1)),
        StatusCode LowCardinality(String) CODEC(ZSTD(1)),
        StatusMessage String CODEC(ZSTD(1)),
        Events Nested (
          Timestamp DateTime64(9),
          Name LowCardinality(String),
          Attributes Map(LowCardinality(String), String)
        ) CODEC(ZSTD(1)),
        Links Nested (
          TraceId String,
          SpanId String,
          TraceState String,
          Attributes Map(LowCardinality(String), String)
        ) CODEC(ZSTD(1)),
        ResourceAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(ResourceAttributes, 'Array(Tuple(String, String))')),
        SpanAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(SpanAttributes, 'Array(Tuple(String, String))')),
        INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
        INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
        INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
        INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
      )
      ENGINE = MergeTree
      PARTITION BY toDate(Timestamp)
      PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
      ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
      TTL toDateTime(Timestamp) + toIntervalHour(72)
      SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`,
      `CREATE TABLE IF NOT EXISTS {db}.otel_traces_trace_id_ts (
        TraceId String CODEC(ZSTD(1)),
        Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
        End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))
      )
      ENGINE = AggregatingMergeTree
      PARTITION BY toStartOfWeek(Start)
      ORDER BY (TraceId)
      TTL toDateTime(Start) + toIntervalHour(72)
      SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.otel_traces_trace_id_ts_mv TO {db}.otel_traces_trace_id_ts AS
        SELECT TraceId, min(Timestamp) AS Start, max(Timestamp) AS End
        FROM {db}.otel_traces
        WHERE TraceId != ''
        GROUP BY TraceId`,
    ],
  },
];

/**
 * The events table with the given sorting key (migration 1 used `tenant, type, id`; migration 3
 * rebuilds it with `source` in the key). Only the key differs between the versions.
 */
function eventsTable(orderBy: string): string {
  return `CREATE TABLE IF NOT EXISTS {db}.events (
    id String,
    tenant LowCardinality(String),
    type LowCardinality(String),
    source String,
    subject String,
    time DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3),
    data String,
    trace_id String,
    kafka_partition UInt32,
    kafka_offset UInt64,
    INDEX time_minmax time TYPE minmax GRANULARITY 1,
    CONSTRAINT id_present CHECK id != '',
    CONSTRAINT type_present CHECK type != ''
  )
  ENGINE = ReplacingMergeTree
  PARTITION BY toYYYYMM(time)
  ORDER BY (${orderBy})
  SETTINGS non_replicated_deduplication_window = 10000`;
}

/** The events table as migration 3 leaves it: migration 1's, with `source` in the sorting key. */
const EVENTS_TABLE_V3 = eventsTable('tenant, type, source, id');

/** Where the rebuild keeps the old table while it moves the rows out. */
const REKEY_OLD = 'events_rekey_old';

/** ClickHouse errors a second process migrating at the same time causes: the step is done already. */
const UNKNOWN_TABLE = '60';
const TABLE_ALREADY_EXISTS = '57';
const NO_SUCH_DATA_PART = '232';

/**
 * Rebuilds `events` with `source` in its sorting key, keeping every row, in steps that can each be
 * interrupted and run again, also by several processes at once:
 * 1. set the old table aside (`RENAME`, atomic: one process does it; the sink's inserts fail with
 *    UNKNOWN_TABLE for these milliseconds and are retried);
 * 2. create the new table (from then on inserts land there);
 * 3. move the old table's rows part by part: copy a part, then drop it from the old table, until
 *    none is left (merges stopped, so part names hold; an insert that was in flight during the
 *    rename is a part too, and is moved as well);
 * 4. drop the old table.
 * A copy carries a deduplication token per part, so a copy repeated (after a crash between its two
 * steps, or by a second process) is dropped by the new table's deduplication window.
 */
async function rekeyEvents(client: ClickHouseClient, database: string): Promise<void> {
  const old = `${database}.${REKEY_OLD}`;
  const exists = async (table: string) =>
    Number((await rowsOf<{ n: string | number }>(client, `SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {table:String}`, { db: database, table }))[0]?.n) > 0;
  const [events] = await rowsOf<{ sorting_key: string }>(client, `SELECT sorting_key FROM system.tables WHERE database = {db:String} AND name = 'events'`, { db: database });
  const keyed = events !== undefined && events.sorting_key.split(',').map((c) => c.trim()).includes('source');
  if (events !== undefined && !keyed && !(await exists(REKEY_OLD))) {
    await tolerating([TABLE_ALREADY_EXISTS, UNKNOWN_TABLE], () => client.command({ query: `RENAME TABLE ${database}.events TO ${old}` }));
  }
  if (!(await exists(REKEY_OLD))) return;
  await client.command({ query: EVENTS_TABLE_V3.replaceAll('{db}', database) });
  await tolerating([UNKNOWN_TABLE], () => client.command({ query: `SYSTEM STOP MERGES ${old}` }));
  for (;;) {
    const parts = await rowsOf<{ name: string }>(
      client,
      `SELECT name FROM system.parts WHERE database = {db:String} AND table = {table:String} AND active ORDER BY name`,
      { db: database, table: REKEY_OLD },
    );
    if (parts.length === 0) break;
    for (const { name } of parts) {
      await tolerating([UNKNOWN_TABLE], () =>
        client.command({
          query: `INSERT INTO ${database}.events SELECT * FROM ${old} WHERE _part = {part:String}`,
          query_params: { part: name },
          clickhouse_settings: { insert_deduplicate: 1, insert_deduplication_token: `rekey-events:${name}`, max_threads: 1, max_insert_threads: '1' },
        }),
      );
      await tolerating([UNKNOWN_TABLE, NO_SUCH_DATA_PART], () =>
        client.command({ query: `ALTER TABLE ${old} DROP PART {part:String}`, query_params: { part: name } }),
      );
    }
  }
  await client.command({ query: `DROP TABLE IF EXISTS ${old}` });
}

async function tolerating(codes: readonly string[], step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (error) {
    if (!codes.includes(String((error as { code?: unknown }).code))) throw error;
  }
}

async function rowsOf<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

export interface MigrateOptions {
  /**
   * Apply only the migrations with versions in this range (inclusive), e.g. MIGRATION_RANGES.traces: the trace
   * store creates its own tables from processes that have no business applying the others.
   */
  versions?: readonly [number, number];
}

/** Creates the database and applies every migration not yet recorded. Safe to run on every start. */
export async function migrate(client: ClickHouseClient, database: string, options: MigrateOptions = {}): Promise<number[]> {
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations (
      version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
    ) ENGINE = ReplacingMergeTree ORDER BY version`,
  });
  const result = await client.query({
    query: `SELECT version FROM ${database}.schema_migrations FINAL`,
    format: 'JSONEachRow',
  });
  const applied = new Set((await result.json<{ version: number }>()).map((r) => Number(r.version)));
  const newlyApplied: number[] = [];
  const [from, to] = options.versions ?? [0, Number.MAX_SAFE_INTEGER];
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version) || migration.version < from || migration.version > to) continue;
    for (const statement of migration.statements) {
      await client.command({ query: statement.replaceAll('{db}', database) });
    }
    await migration.apply?.(client, database);
    await client.insert({
      table: `${database}.schema_migrations`,
      values: [{ version: migration.version, name: migration.name }],
      format: 'JSONEachRow',
    });
    newlyApplied.push(migration.version);
  }
  return newlyApplied;
}
