import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { env } from './load.ts';

/** This file is libs/config/src/stack.ts. */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Where the servers are. Every address can point at an existing server instead of ours. */
export const stackSchema = z.object({
  /**
   * Folder for all local state: data, logs, pids, the Kafka jar cache. Default: `.floodgate/` at the
   * repository root (whatever the working directory); a relative value is taken from the working
   * directory.
   */
  FLOODGATE_HOME: z
    .string()
    .min(1)
    .optional()
    .transform((p) => (p === undefined ? path.join(REPO_ROOT, '.floodgate') : path.resolve(p))),
  /**
   * Where `stack up` keeps the Kafka jars it fetches; default `<FLOODGATE_HOME>/cache`. Lets a second
   * stack (a test's private broker) share the jars of the first instead of fetching them again.
   */
  FLOODGATE_CACHE: z
    .string()
    .min(1)
    .optional()
    .transform((p) => (p === undefined ? undefined : path.resolve(p))),
  /**
   * Brokers `stack up` runs on this machine: 1 (default, one KRaft broker+controller) or 3 (a
   * replicated cluster of three broker+controllers sharing one quorum). With 3, unset
   * KAFKA_BROKERS defaults to 127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096, and unset
   * KAFKA_REPLICATION_FACTOR / KAFKA_MIN_INSYNC_REPLICAS to 3 / 2 (libs/config/src/local-brokers.ts).
   */
  KAFKA_LOCAL_BROKERS: z.coerce
    .number()
    .int()
    .refine((n) => n === 1 || n === 3, 'must be 1 or 3')
    .default(1),
  /** Bootstrap brokers; with KAFKA_LOCAL_BROKERS=3 every one of the three, in node order. */
  KAFKA_BROKERS: env.list('127.0.0.1:9092'),
  /**
   * KRaft controller port of the local broker (`stack up` only); unset: the broker port + 1. With
   * KAFKA_LOCAL_BROKERS=3 each broker's controller is always on its broker port + 1.
   */
  KAFKA_CONTROLLER_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  NATS_URL: env.string('nats://127.0.0.1:4222'),
  /** HTTP monitoring port of the local nats-server (`/varz`, `/jsz`; `stack up` only); 0: off. */
  NATS_MONITOR_PORT: env.int(0, 0, 65535),
  /** Unset: the embedded chDB endpoint at CLICKHOUSE_EMBEDDED_PORT is started and used. */
  CLICKHOUSE_URL: z.url().optional(),
  CLICKHOUSE_EMBEDDED_PORT: env.int(8123, 1, 65535),
  CLICKHOUSE_USER: env.string('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier').default('floodgate'),
  KAFKA_TOPIC: env.string('events'),
  KAFKA_DLQ_TOPIC: env.string('events.dlq'),
  KAFKA_PARTITIONS: env.int(6, 1, 1024),
  /**
   * Replication factor of the topics created at start-up (existing topics are left as they are).
   * 1 suits the local single broker; a cluster of 3 or more brokers wants 3 (deploy/ sets it).
   */
  KAFKA_REPLICATION_FACTOR: env.int(1, 1, 32),
  /**
   * `min.insync.replicas` of the topics created at start-up: with acks=all a write needs this many
   * replicas in sync, so 2 of 3 survives one broker down without losing an acknowledged event.
   * Must not exceed KAFKA_REPLICATION_FACTOR (checked where topics are created).
   */
  KAFKA_MIN_INSYNC_REPLICAS: env.int(1, 1, 32),
  /** How long `stack up` waits for each server it starts to answer before giving up. */
  STACK_START_TIMEOUT_MS: env.int(60_000, 1_000),
});

export type StackConfig = z.infer<typeof stackSchema>;

/** The topic settings of the configuration, in the shape `ensureTopics` takes. */
export function topicReplication(config: Pick<StackConfig, 'KAFKA_REPLICATION_FACTOR' | 'KAFKA_MIN_INSYNC_REPLICAS'>): {
  replicationFactor: number;
  minInsyncReplicas: number;
} {
  return { replicationFactor: config.KAFKA_REPLICATION_FACTOR, minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS };
}

/** The ClickHouse URL in force: CLICKHOUSE_URL, or the embedded endpoint's. */
export function clickhouseUrl(config: Pick<StackConfig, 'CLICKHOUSE_URL' | 'CLICKHOUSE_EMBEDDED_PORT'>): string {
  return config.CLICKHOUSE_URL ?? `http://127.0.0.1:${config.CLICKHOUSE_EMBEDDED_PORT}`;
}
