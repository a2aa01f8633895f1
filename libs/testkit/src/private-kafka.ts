/**
 * A Kafka broker of a test's own, for tests that stop, freeze or restart the broker: the shared one
 * serves every other test and must stay up. It is started by the project's own `floodgate stack up`
 * in a private FLOODGATE_HOME (its own data, logs and pid file), sharing the jar cache of the main
 * stack; NATS and ClickHouse stay the shared ones (used as they are, never started or stopped).
 */
import { AssertionError } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clickhouseUrl, type StackConfig } from '@floodgate/config';
import { freePort, freePortBlock } from './ports.ts';
import { stopProcess } from './signals.ts';
import { stackConfigForTests } from './stack.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = path.join(REPO_ROOT, 'apps/cli/src/main.ts');

export interface PrivateKafka {
  /** `127.0.0.1:<port>`: use as KAFKA_BROKERS. */
  readonly brokers: string;
  /** The broker's JVM pid (changes after `restart`). */
  pid(): number;
  /**
   * SIGSTOP: the broker keeps its sockets open and answers nothing (a stalled broker). Resolves once
   * every thread of the JVM has stopped, so nothing sent after it is answered before `thaw`.
   */
  freeze(): Promise<void>;
  /** SIGCONT after `freeze`. */
  thaw(): void;
  /** `floodgate stack down` for this broker (SIGTERM, clean shutdown), then `stack up` again, on the same data. */
  restart(options?: { downForMs?: number }): Promise<void>;
  stop(): Promise<void>;
  /** `floodgate stack up` again after `stop`, on the same data. */
  start(): Promise<void>;
  /** Stops the broker and removes its data. */
  destroy(): Promise<void>;
}

function runStackCommand(command: 'up' | 'down', env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'stack', command], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new AssertionError({ message: `floodgate stack ${command} for a private Kafka exited ${code}:\n${output}` }));
    });
  });
}

/** The NATS credential settings of `shared` that are set, as environment variables. */
export function sharedNatsCredentials(shared: Readonly<StackConfig>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const key of ['NATS_USER', 'NATS_PASSWORD', 'NATS_TOKEN', 'NATS_CREDS_FILE'] as const) {
    const value = shared[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

export interface PrivateKafkaOptions {
  /**
   * 1 (default): one KRaft broker. 3: the local cluster of `floodgate stack up --kafka-brokers 3`
   * (topics at replication factor 3, min ISR 2); `pid`, `freeze` and `thaw` then act on the first
   * broker, `kafka-1`.
   */
  brokers?: 1 | 3;
}

/**
 * Starts a private KRaft broker (or a cluster of three) on free loopback ports and waits until it
 * answers. `shared`: the main stack's configuration (its jar cache, NATS and ClickHouse are reused).
 */
export async function startPrivateKafka(
  label: string,
  shared: Readonly<StackConfig> = stackConfigForTests(),
  options: PrivateKafkaOptions = {},
): Promise<PrivateKafka> {
  const home = mkdtempSync(path.join(os.tmpdir(), `floodgate-kafka-${label}-`));
  const ports = await kafkaPorts(options.brokers ?? 1);
  const brokers = ports.brokers.map((p) => `127.0.0.1:${p}`).join(',');
  const env: NodeJS.ProcessEnv = {
    FLOODGATE_HOME: home,
    FLOODGATE_CACHE: shared.FLOODGATE_CACHE ?? path.join(shared.FLOODGATE_HOME, 'cache'),
    KAFKA_BROKERS: brokers,
    ...ports.env,
    NATS_URL: shared.NATS_URL,
    // The shared servers' credentials (from the shared home's credentials.json), given explicitly:
    // this home has none of its own, and the shared NATS and ClickHouse demand them.
    ...sharedNatsCredentials(shared),
    CLICKHOUSE_URL: clickhouseUrl(shared),
    CLICKHOUSE_USER: shared.CLICKHOUSE_USER,
    CLICKHOUSE_PASSWORD: shared.CLICKHOUSE_PASSWORD,
  };
  const pidFile = path.join(home, 'run', options.brokers === 3 ? 'kafka-1.pid' : 'kafka.pid');
  const pid = () => Number(readFileSync(pidFile, 'utf8').trim());
  let frozen = false;
  await runStackCommand('up', env);
  const stop = async () => {
    if (frozen) {
      process.kill(pid(), 'SIGCONT');
      frozen = false;
    }
    await runStackCommand('down', env);
  };
  return {
    brokers,
    pid,
    async freeze() {
      frozen = true;
      await stopProcess(pid());
    },
    thaw() {
      process.kill(pid(), 'SIGCONT');
      frozen = false;
    },
    async restart(options = {}) {
      await stop();
      if (options.downForMs) await new Promise((r) => setTimeout(r, options.downForMs));
      await runStackCommand('up', env);
    },
    stop,
    start: () => runStackCommand('up', env),
    async destroy() {
      await stop().catch(() => {});
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Broker ports, and the settings that place the controllers. */
async function kafkaPorts(count: 1 | 3): Promise<{ brokers: number[]; env: NodeJS.ProcessEnv }> {
  if (count === 3) {
    // The cluster's layout is fixed: broker n at base + 2(n-1), its controller on the next port.
    const base = await freePortBlock(6);
    return { brokers: [base, base + 2, base + 4], env: { KAFKA_LOCAL_BROKERS: '3' } };
  }
  const brokerPort = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === brokerPort) controllerPort = await freePort();
  return { brokers: [brokerPort], env: { KAFKA_CONTROLLER_PORT: String(controllerPort) } };
}
