import type { ClickHouseClient } from '@clickhouse/client';

export interface Migration {
  version: number;
  name: string;
  /** Statements; `{db}` is replaced by the database name. Each must be idempotent on its own. */
  statements: string[];
}

/**
 * The schema, in order. Never edit an applied migration: add a new one. Every statement is
 * idempotent, so a migration interrupted half-way is simply run again.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events table',
    // ReplacingMergeTree keyed on (tenant, type, id): a client that retries with the same event id
    // gets one row in query results (FINAL, or the events_unique view), even when the retry got a
    // new receive time, which is why `time` is not in the sorting key (docs/sink.md). A minmax
    // index on `time` keeps time-range queries pruned. The deduplication window keeps the last
    // 10,000 insert tokens: a batch re-sent by the sink after a crash or rebalance is dropped.
    // The constraints make a row without id or type a rejection (dead-lettered), not a bad row.
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.events (
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
      ORDER BY (tenant, type, id)
      SETTINGS non_replicated_deduplication_window = 10000`,
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
    // Versions 2..19 are kept for the events-table work; the bench's tables start at 20.
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
];

/** Creates the database and applies every migration not yet recorded. Safe to run on every start. */
export async function migrate(client: ClickHouseClient, database: string): Promise<number[]> {
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
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements) {
      await client.command({ query: statement.replaceAll('{db}', database) });
    }
    await client.insert({
      table: `${database}.schema_migrations`,
      values: [{ version: migration.version, name: migration.name }],
      format: 'JSONEachRow',
    });
    newlyApplied.push(migration.version);
  }
  return newlyApplied;
}
