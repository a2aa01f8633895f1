import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, drainStream, type ClickHouseClient } from '@clickhouse/client';
import { clickhouseUrl } from '@floodgate/config';
import type { SinkConfig } from './config.ts';

/**
 * The sink's ClickHouse client. Its own log is off: every failure surfaces as an error the sink
 * logs with partition and batch context (and retries), so the client's copy would be noise.
 */
export function createSinkClickHouse(config: SinkConfig): ClickHouseClient {
  return createClient({
    url: clickhouseUrl(config),
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database: 'default',
    request_timeout: config.SINK_INSERT_TIMEOUT_MS,
    max_open_connections: Math.max(4, config.KAFKA_PARTITIONS),
    log: { level: ClickHouseLogLevel.OFF },
  });
}

export interface InsertOutcome {
  /** Rows ClickHouse wrote; 0 when it dropped the insert as a repeat of the same token. Undefined if not reported. */
  written: number | undefined;
}

export type Insert = (body: Buffer, token: string, signal: AbortSignal) => Promise<InsertOutcome>;

/**
 * One insert request: the JSONEachRow body as it is (no re-serialisation), with the batch's
 * deduplication token. `data` objects are read as strings, unknown event fields are skipped.
 */
export function createInsert(client: ClickHouseClient, table: string): Insert {
  const query = `INSERT INTO ${table} FORMAT JSONEachRow`;
  return async (body, token, signal) => {
    const result = await client.exec({
      query,
      values: Readable.from([body], { objectMode: false }),
      abort_signal: signal,
      clickhouse_settings: {
        insert_deduplicate: 1,
        insert_deduplication_token: token,
        date_time_input_format: 'best_effort',
        input_format_json_read_objects_as_strings: 1,
        input_format_skip_unknown_fields: 1,
        async_insert: 0,
      },
    });
    await drainStream(result.stream);
    const written = result.summary?.written_rows;
    return { written: written === undefined ? undefined : Number(written) };
  };
}

/** The engine of the events table, or undefined when it does not exist. */
export async function tableEngine(client: ClickHouseClient, database: string, table: string): Promise<string | undefined> {
  const result = await client.query({
    query: 'SELECT engine FROM system.tables WHERE database = {db:String} AND name = {table:String}',
    query_params: { db: database, table },
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ engine: string }>();
  return rows[0]?.engine;
}

/**
 * What the events table already holds of a partition, by Kafka offset: how a partition whose batch
 * record was lost finds the rows a previous owner inserted but did not commit (docs/sink.md,
 * "Losing the batch records"). The table is not sorted by offset, so each call scans it: used only
 * on that rare path, never per batch.
 */
export interface LandedRows {
  /** The highest offset of `partition` at or after `from` in the table, or null when there is none. */
  highest(partition: number, from: number, signal: AbortSignal): Promise<number | null>;
  /** The event ids in the table at each offset of `partition` in [from, to]. */
  ids(partition: number, from: number, to: number, signal: AbortSignal): Promise<Map<number, Set<string>>>;
}

export function createLandedRows(client: ClickHouseClient, table: string): LandedRows {
  return {
    async highest(partition, from, signal) {
      const result = await client.query({
        query: `SELECT count() AS n, max(kafka_offset) AS last FROM ${table} WHERE kafka_partition = {partition:UInt32} AND kafka_offset >= {from:UInt64}`,
        query_params: { partition, from },
        format: 'JSONEachRow',
        abort_signal: signal,
      });
      const [row] = await result.json<{ n: string; last: string }>();
      return row && Number(row.n) > 0 ? Number(row.last) : null;
    },
    async ids(partition, from, to, signal) {
      const result = await client.query({
        query: `SELECT kafka_offset, id FROM ${table} WHERE kafka_partition = {partition:UInt32} AND kafka_offset BETWEEN {from:UInt64} AND {to:UInt64}`,
        query_params: { partition, from, to },
        format: 'JSONCompactEachRow',
        abort_signal: signal,
      });
      const byOffset = new Map<number, Set<string>>();
      for (const [offset, id] of await result.json<[string, string]>()) {
        const key = Number(offset);
        const ids = byOffset.get(key) ?? new Set<string>();
        ids.add(id);
        byOffset.set(key, ids);
      }
      return byOffset;
    },
  };
}
