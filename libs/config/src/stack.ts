import path from 'node:path';
import { z } from 'zod';
import { env } from './load.ts';

/** Where the servers are. Every address can point at an existing server instead of ours. */
export const stackSchema = z.object({
  /** Folder for all local state: data, logs, pids, the Kafka jar cache. */
  FLOODGATE_HOME: env.string('.floodgate').transform((p) => path.resolve(p)),
  KAFKA_BROKERS: env.list('127.0.0.1:9092'),
  NATS_URL: env.string('nats://127.0.0.1:4222'),
  /** Unset: the embedded chDB endpoint at CLICKHOUSE_EMBEDDED_PORT is started and used. */
  CLICKHOUSE_URL: z.url().optional(),
  CLICKHOUSE_EMBEDDED_PORT: env.int(8123, 1, 65535),
  CLICKHOUSE_USER: env.string('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier').default('floodgate'),
  KAFKA_TOPIC: env.string('events'),
  KAFKA_DLQ_TOPIC: env.string('events.dlq'),
  KAFKA_PARTITIONS: env.int(6, 1, 1024),
});

export type StackConfig = z.infer<typeof stackSchema>;

/** The ClickHouse URL in force: CLICKHOUSE_URL, or the embedded endpoint's. */
export function clickhouseUrl(config: Pick<StackConfig, 'CLICKHOUSE_URL' | 'CLICKHOUSE_EMBEDDED_PORT'>): string {
  return config.CLICKHOUSE_URL ?? `http://127.0.0.1:${config.CLICKHOUSE_EMBEDDED_PORT}`;
}
