/**
 * The private world of a chaos run: its own FLOODGATE_HOME, free ports for three Kafka brokers,
 * NATS, ClickHouse, the gateway and the sink, and the environment every CLI call gets. Nothing here
 * touches the shared stack: only the Kafka jar cache is shared (read-only use by `stack up`).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// The port finder alone: the kit's entry also loads vitest, which a plain script does not run under.
import { freePortBlock } from '@floodgate/testkit/ports';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Settings of the apps that must not leak from the caller's shell into the private stack. */
const OURS = /^(FLOODGATE_|KAFKA_|NATS_|CLICKHOUSE_|SINK_|GATEWAY_|ADMIN_|INGEST_|WS_|RATE_LIMIT_|MAX_|MICROBATCH_|OTEL_|CHDB_|LOG_LEVEL$|SHUTDOWN_)/;

export interface ChaosPorts {
  brokers: [number, number, number];
  nats: number;
  clickhouse: number;
  gateway: number;
  admin: number;
  sinkAdmin: number;
}

/** A block of 16 consecutive free ports (brokers at base, base+2, base+4; controllers on +1). */
export async function findPorts(): Promise<ChaosPorts> {
  const base = await freePortBlock(16);
  return { brokers: [base, base + 2, base + 4], nats: base + 6, clickhouse: base + 7, gateway: base + 8, admin: base + 9, sinkAdmin: base + 10 };
}

export interface ChaosWorld {
  home: string;
  ports: ChaosPorts;
  env: NodeJS.ProcessEnv;
  brokers: string[];
  /** Where the jars come from: the main home's cache, or the private home's (fetched). */
  cache: string;
}

/**
 * The main home is the caller's FLOODGATE_HOME, else the repository's `.floodgate`; its jar cache is
 * used when it holds anything, so a machine that already ran `stack up` does not fetch again.
 */
export async function createWorld(): Promise<ChaosWorld> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'floodgate-chaos-'));
  const mainHome = process.env.FLOODGATE_HOME ? path.resolve(process.env.FLOODGATE_HOME) : path.join(REPO_ROOT, '.floodgate');
  const mainCache = process.env.FLOODGATE_CACHE ?? path.join(mainHome, 'cache');
  const cache = existsSync(mainCache) ? mainCache : path.join(home, 'cache');
  const ports = await findPorts();
  const brokers = ports.brokers.map((p) => `127.0.0.1:${p}`);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!OURS.test(k)) env[k] = v;
  Object.assign(env, {
    FLOODGATE_HOME: home,
    FLOODGATE_CACHE: cache,
    KAFKA_LOCAL_BROKERS: '3',
    KAFKA_BROKERS: brokers.join(','),
    NATS_URL: `nats://127.0.0.1:${ports.nats}`,
    CLICKHOUSE_EMBEDDED_PORT: String(ports.clickhouse),
    GATEWAY_PORT: String(ports.gateway),
    ADMIN_PORT: String(ports.admin),
    SINK_ADMIN_PORT: String(ports.sinkAdmin),
    // Two gateway processes, so one can be killed while the other keeps serving.
    GATEWAY_PROCESSES: '2',
    GATEWAY_CANARY_INTERVAL_MS: '0',
    STACK_START_TIMEOUT_MS: '120000',
  });
  return { home, ports, env, brokers, cache };
}
