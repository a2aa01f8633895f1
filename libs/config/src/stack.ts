import path from 'node:path';
import { z } from 'zod';
import { FloodgateError } from '@floodgate/errors';
import { resolveStackHome } from './credentials.ts';
import { env } from './load.ts';

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
    .transform((p) => resolveStackHome(p)),
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
  /**
   * One URL or several, comma-separated. May carry credentials (`nats://user:password@host:4222` or
   * `nats://token@host:4222`), which then stand for NATS_USER/NATS_PASSWORD or NATS_TOKEN.
   */
  NATS_URL: env.string('nats://127.0.0.1:4222'),
  /**
   * NATS credentials, one way at a time: NATS_USER + NATS_PASSWORD, NATS_TOKEN, NATS_CREDS_FILE (a
   * `.creds` file: user JWT + NKey seed), or credentials in NATS_URL. Unset, with the local stack's
   * NATS: the user and password `stack up` generated (`<FLOODGATE_HOME>/credentials.json`).
   */
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  NATS_TOKEN: z.string().min(1).optional(),
  NATS_CREDS_FILE: z.string().min(1).optional(),
  /** HTTP monitoring port of the local nats-server (`/varz`, `/jsz`; `stack up` only); 0: off. */
  NATS_MONITOR_PORT: env.int(0, 0, 65535),
  /** Unset: the embedded chDB endpoint at CLICKHOUSE_EMBEDDED_PORT is started and used. */
  CLICKHOUSE_URL: z.url().optional(),
  CLICKHOUSE_EMBEDDED_PORT: env.int(8123, 1, 65535),
  /**
   * ClickHouse credentials. Unset, with the embedded endpoint (or any ClickHouse on this machine):
   * the ones `stack up` generated (`<FLOODGATE_HOME>/credentials.json`), else `default` / empty.
   */
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

/** How a NATS client authenticates, from the configuration (see natsAuth). */
export type NatsAuth =
  | { kind: 'none' }
  | { kind: 'user'; user: string; password: string; source: string }
  | { kind: 'token'; token: string; source: string }
  | { kind: 'creds'; file: string };

export type NatsSettings = Pick<StackConfig, 'NATS_URL' | 'NATS_USER' | 'NATS_PASSWORD' | 'NATS_TOKEN' | 'NATS_CREDS_FILE'>;

/** NATS_URL's servers without credentials, and the credentials the URL carried (one set for all). */
export function splitNatsUrl(natsUrl: string): { servers: string[]; user?: string; password?: string; token?: string } {
  const servers: string[] = [];
  const found = new Set<string>();
  let out: { user?: string; password?: string; token?: string } = {};
  for (const entry of natsUrl.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z][a-z0-9+.-]*:\/\/)?([^/@]*)@(.*)$/i.exec(entry);
    if (!m) {
      servers.push(entry);
      continue;
    }
    servers.push(`${m[1] ?? ''}${m[3]}`);
    found.add(m[2]!);
    const colon = m[2]!.indexOf(':');
    out = colon < 0 ? { token: decodeURIComponent(m[2]!) } : { user: decodeURIComponent(m[2]!.slice(0, colon)), password: decodeURIComponent(m[2]!.slice(colon + 1)) };
  }
  if (found.size > 1) throw new FloodgateError('CONFIG_INVALID', 'NATS_URL: its servers carry different credentials; give one set (or use NATS_USER/NATS_PASSWORD)');
  return { servers, ...out };
}

/**
 * The one way this configuration authenticates to NATS. Refuses, with CONFIG_INVALID naming the
 * variables, a user without password (or the reverse) and two ways at once.
 */
export function natsAuth(config: NatsSettings): NatsAuth {
  const fromUrl = splitNatsUrl(config.NATS_URL);
  const ways: NatsAuth[] = [];
  if (config.NATS_USER !== undefined || config.NATS_PASSWORD !== undefined) {
    if (config.NATS_USER === undefined || config.NATS_PASSWORD === undefined) {
      throw new FloodgateError('CONFIG_INVALID', `NATS_USER and NATS_PASSWORD go together: ${config.NATS_USER === undefined ? 'NATS_USER' : 'NATS_PASSWORD'} is unset`);
    }
    ways.push({ kind: 'user', user: config.NATS_USER, password: config.NATS_PASSWORD, source: 'NATS_USER/NATS_PASSWORD' });
  }
  if (config.NATS_TOKEN !== undefined) ways.push({ kind: 'token', token: config.NATS_TOKEN, source: 'NATS_TOKEN' });
  if (config.NATS_CREDS_FILE !== undefined) ways.push({ kind: 'creds', file: path.resolve(config.NATS_CREDS_FILE) });
  if (fromUrl.user !== undefined) ways.push({ kind: 'user', user: fromUrl.user, password: fromUrl.password ?? '', source: 'NATS_URL' });
  if (fromUrl.token !== undefined) ways.push({ kind: 'token', token: fromUrl.token, source: 'NATS_URL' });
  if (ways.length > 1) {
    const names = ways.map((w) => (w.kind === 'creds' ? 'NATS_CREDS_FILE' : w.kind === 'none' ? '' : w.source));
    throw new FloodgateError('CONFIG_INVALID', `NATS credentials are given more than one way (${names.join(', ')}); set only one`);
  }
  return ways[0] ?? { kind: 'none' };
}
