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
