import { z } from 'zod';
import { stackSchema } from '@floodgate/config';
import { createKafka } from '@floodgate/kafka';
import { createClickHouse } from '@floodgate/clickhouse';
import { clickhouseUrl } from '@floodgate/config';
import { createLogger } from '@floodgate/logging';
import { connectNats, PREFIX_PATTERN, type NatsConnection } from '@floodgate/nats';
import { consumerLag, type PartitionLag } from '@floodgate/kafka';
import { env } from '@floodgate/config';

/** What the CLI's sink commands read from the environment (the same variables as the sink). */
export const cliSinkSchema = stackSchema.extend({
  SINK_NATS_PREFIX: z.string().regex(PREFIX_PATTERN, 'letters, digits, _ and - only').default('floodgate'),
  SINK_GROUP_ID: env.string('floodgate-sink'),
  SINK_TABLE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('events'),
});
export type CliSinkConfig = z.infer<typeof cliSinkSchema>;

export interface ControlSession {
  nc: NatsConnection;
  close(): Promise<void>;
}

/** A short-lived NATS connection for one CLI command. */
export async function openControl(config: CliSinkConfig): Promise<ControlSession> {
  const logger = createLogger('floodgate-cli', { level: process.env.LOG_LEVEL ?? 'error' }, process.stderr);
  const nc = await connectNats({ config, name: 'floodgate-cli', logger, timeoutMs: 3000 });
  return { nc, close: () => nc.close().catch(() => {}) };
}

/** Consumer lag per partition for every (group, topic) pair, as Kafka sees it. */
export async function readLag(config: CliSinkConfig, pairs: Array<{ group: string; topic: string }>): Promise<Map<string, PartitionLag[]>> {
  const out = new Map<string, PartitionLag[]>();
  if (pairs.length === 0) return out;
  // Log lines to stderr: stdout is the command's output (`status --json` must stay JSON while Kafka is away).
  const logger = createLogger('floodgate-cli', { level: process.env.LOG_LEVEL ?? 'error' }, process.stderr);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'floodgate-cli', logger });
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  try {
    for (const { group, topic } of pairs) out.set(`${group}\u0000${topic}`, await consumerLag(kafkaAdmin, group, topic));
  } finally {
    await kafkaAdmin.disconnect().catch(() => {});
  }
  return out;
}

export const lagKey = (group: string, topic: string) => `${group}\u0000${topic}`;

/** The last canary of each gateway (docs/metrics.md, freshness): from accepted to inserted. */
export interface Freshness {
  gateway: string;
  seconds: number;
  /** When it landed in ClickHouse (ISO-8601). */
  landedAt: string;
}

/** The newest canary per gateway of the last 10 minutes, from the events table. */
export async function readFreshness(config: CliSinkConfig): Promise<Freshness[]> {
  const client = createClickHouse({ url: clickhouseUrl(config), username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, database: 'default', requestTimeoutMs: 3000 });
  try {
    const result = await client.query({
      query: `SELECT source AS gateway, (toUnixTimestamp64Milli(inserted_at) - toUnixTimestamp64Milli(received_at)) / 1000 AS seconds, toUnixTimestamp64Milli(inserted_at) AS landed
        FROM ${config.CLICKHOUSE_DATABASE}.${config.SINK_TABLE}
        WHERE tenant = 'floodgate-canary' AND type = 'floodgate.canary' AND received_at > now64(3) - INTERVAL 10 MINUTE
        ORDER BY received_at DESC LIMIT 1 BY source`,
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ gateway: string; seconds: number | string; landed: number | string }>();
    return rows.map((r) => ({ gateway: r.gateway, seconds: Number(r.seconds), landedAt: new Date(Number(r.landed)).toISOString() })).sort((a, b) => a.gateway.localeCompare(b.gateway));
  } finally {
    await client.close();
  }
}
