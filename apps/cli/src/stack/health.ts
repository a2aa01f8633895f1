/**
 * Real readiness checks: each one makes the server do work a client needs, not just accept a TCP
 * connection. Each attempt is bounded by `timeoutMs` and cleans up after itself.
 */
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { connect } from '@nats-io/transport-node';
import { Kafka, logLevel } from 'kafkajs';
import type { NatsSettings } from '@floodgate/config';
import { natsConnectError, natsConnectOptions } from '@floodgate/nats';
import { FloodgateError } from '@floodgate/errors';

async function bounded<T>(what: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FloodgateError('STACK_UNHEALTHY', `${what}: no answer within ${timeoutMs} ms`, { retriable: true })), timeoutMs);
  });
  try {
    return await Promise.race([work(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A metadata request through a kafkajs admin client, then a group-coordinator lookup: a fresh
 * broker answers metadata before its __consumer_offsets topic is loaded, and a consumer group that
 * joins in that window fails with "the coordinator is loading" (kafkajs#1752).
 */
export async function checkKafka(brokers: string[], timeoutMs: number): Promise<void> {
  const kafka = new Kafka({
    clientId: 'floodgate-stack-check',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 3_000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const kafkaAdmin = kafka.admin();
  try {
    await bounded('kafka metadata request', timeoutMs, async () => {
      await kafkaAdmin.connect();
      await kafkaAdmin.listTopics();
      await kafkaAdmin.describeGroups(['floodgate-stack-readiness']);
    });
  } finally {
    await kafkaAdmin.disconnect().catch(() => {});
  }
}

/**
 * A connect + flush (PING/PONG) round trip with the configured credentials. Tells whether the
 * server has JetStream on and whether it demands credentials at all.
 */
export async function checkNats(config: NatsSettings, timeoutMs: number): Promise<{ jetstream: boolean; authRequired: boolean }> {
  let nc;
  try {
    nc = await connect(natsConnectOptions(config, { timeout: timeoutMs, reconnect: false, name: 'floodgate-stack-check' }));
  } catch (cause) {
    throw natsConnectError(config, cause);
  }
  try {
    await bounded('nats flush', timeoutMs, () => nc.flush());
    return { jetstream: nc.info?.jetstream === true, authRequired: nc.info?.auth_required === true };
  } finally {
    await nc.close().catch(() => {});
  }
}

/** `SELECT 1` through @clickhouse/client. */
export async function checkClickHouse(url: string, username: string, password: string, timeoutMs: number): Promise<void> {
  const client = createClient({
    url,
    username,
    password,
    request_timeout: timeoutMs,
    max_open_connections: 1,
    // Failed attempts are expected while a server starts; the caller reports the last one.
    log: { level: ClickHouseLogLevel.OFF },
  });
  try {
    await bounded('clickhouse SELECT 1', timeoutMs, async () => {
      const result = await client.query({ query: 'SELECT 1 AS ok', format: 'JSONEachRow' });
      const rows = await result.json<{ ok: number | string }>();
      if (rows.length !== 1 || Number(rows[0]!.ok) !== 1) throw new FloodgateError('STACK_UNHEALTHY', `SELECT 1 returned ${JSON.stringify(rows)}`);
    });
  } finally {
    await client.close().catch(() => {});
  }
}

/**
 * The HTTP status of a query sent with no credentials at all: 200 means the endpoint was started
 * without a password (before `stack up` generated one); 401/403, it demands credentials.
 */
export async function clickhouseAnswersAnonymously(url: string, timeoutMs: number): Promise<number> {
  const response = await fetch(`${url.replace(/\/$/, '')}/?query=${encodeURIComponent('SELECT 1')}`, { signal: AbortSignal.timeout(timeoutMs) });
  await response.arrayBuffer();
  return response.status;
}
