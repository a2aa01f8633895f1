import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '@floodgate/logging';
import { Counter, Gauge, type Registry } from 'prom-client';

/** The canary's tenant: its rows are told apart (and filtered out) by it and by their type. */
export const CANARY_TENANT = 'floodgate-canary';
export const CANARY_TYPE = 'floodgate.canary';

/** A per-start key for the canary, handed to the gateway processes (FLOODGATE_CANARY_KEY). */
export function newCanaryKey(): string {
  return randomBytes(24).toString('base64url');
}

export interface CanaryOptions {
  /** http://host:port of this gateway's ingest port. */
  ingestUrl: () => string | undefined;
  key: string;
  intervalMs: number;
  clickhouse: ClickHouseClient;
  database: string;
  table: string;
  registry: Registry;
  logger: Logger;
}

/**
 * The freshness probe: every interval one canary event goes in through this gateway's own ingest
 * port (the whole path: auth, ingest thread, Kafka, sink, ClickHouse), and the pending ones are
 * looked up in the events table. `floodgate_freshness_seconds` is the time from the gateway's 202
 * to the row's `inserted_at` of the last canary that landed, or the age of the oldest canary still
 * missing when that is larger: a pipeline that stops delivering shows as freshness growing.
 */
export function startCanary(o: CanaryOptions): { stop(): void } {
  const gateway = os.hostname();
  const freshness = new Gauge({ name: 'floodgate_freshness_seconds', help: 'Seconds from a canary event accepted by the gateway to queryable in ClickHouse (or the age of the oldest canary not yet there)', labelNames: ['gateway'], registers: [o.registry] });
  const sent = new Counter({ name: 'floodgate_canary_events_total', help: 'Canary events sent through the gateway, by outcome (accepted, refused, failed)', labelNames: ['outcome'], registers: [o.registry] });
  const landed = new Counter({ name: 'floodgate_canary_landed_total', help: 'Canary events found in ClickHouse; until the first one, floodgate_freshness_seconds is only the age of the oldest one still missing', registers: [o.registry] });
  const pending = new Map<string, number>();
  let last: number | undefined;
  let busy = false;

  /** Sends one canary; its id once the gateway accepted it. */
  const send = async (): Promise<string | undefined> => {
    const url = o.ingestUrl();
    if (!url) return undefined;
    const id = randomUUID();
    try {
      const response = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${o.key}` },
        body: JSON.stringify([{ id, type: CANARY_TYPE, source: gateway, data: { gateway } }]),
        signal: AbortSignal.timeout(Math.max(1000, o.intervalMs)),
      });
      await response.text();
      if (response.status === 202) {
        pending.set(id, Date.now());
        sent.inc({ outcome: 'accepted' });
        return id;
      } else {
        sent.inc({ outcome: 'refused' });
        o.logger.warn({ status: response.status }, 'canary event refused by the gateway');
      }
    } catch (error) {
      sent.inc({ outcome: 'failed' });
      o.logger.warn({ err: error }, 'canary event could not be sent');
    }
    return undefined;
  };

  const look = async () => {
    if (pending.size === 0) return;
    const rows = await o.clickhouse.query({
      query: `SELECT id, toUnixTimestamp64Milli(inserted_at) AS at FROM ${o.database}.${o.table} WHERE tenant = {tenant:String} AND type = {type:String} AND id IN {ids:Array(String)}`,
      query_params: { tenant: CANARY_TENANT, type: CANARY_TYPE, ids: [...pending.keys()] },
      format: 'JSONEachRow',
    });
    for (const row of await rows.json<{ id: string; at: string | number }>()) {
      const acceptedAt = pending.get(row.id);
      if (acceptedAt === undefined) continue;
      pending.delete(row.id);
      landed.inc();
      last = Math.max(0, Number(row.at) - acceptedAt) / 1000;
    }
    // Forget canaries over an hour old (a lost one must not pin the gauge for ever).
    for (const [id, at] of pending) if (Date.now() - at > 3_600_000) pending.delete(id);
  };

  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await look().catch((error: unknown) => o.logger.warn({ err: error }, 'canary lookup in ClickHouse failed'));
      const justSent = await send();
      // The canaries sent before this tick and still missing: the oldest one's age is a lower bound.
      const waitingSince = [...pending].filter(([id]) => id !== justSent).map(([, at]) => at);
      const waiting = waitingSince.length > 0 ? (Date.now() - Math.min(...waitingSince)) / 1000 : 0;
      if (last !== undefined || waiting > 0) freshness.set({ gateway }, Math.round(Math.max(last ?? 0, waiting) * 1000) / 1000);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), o.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
