import { createClient, type ClickHouseClient } from '@clickhouse/client';

export interface ClickHouseOptions {
  url: string;
  username: string;
  password: string;
  database: string;
  requestTimeoutMs?: number;
}

export function createClickHouse(options: ClickHouseOptions): ClickHouseClient {
  return createClient({
    url: options.url,
    username: options.username,
    password: options.password,
    database: options.database,
    request_timeout: options.requestTimeoutMs ?? 30_000,
    clickhouse_settings: {
      // Kafka values carry ISO-8601 times; let the server parse them.
      date_time_input_format: 'best_effort',
    },
  });
}
