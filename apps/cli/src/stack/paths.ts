import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is apps/cli/src/stack/paths.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** `kafka-1`..`kafka-3` are the brokers of a local 3-broker cluster (KAFKA_LOCAL_BROKERS=3). */
export type ServerName = 'kafka' | `kafka-${number}` | 'nats' | 'clickhouse';
export const SERVER_NAMES: readonly ServerName[] = ['kafka', 'nats', 'clickhouse'];

/** Everything `stack up` writes lives under FLOODGATE_HOME, laid out here. */
export function stackPaths(home: string, cache?: string) {
  return {
    home,
    logs: path.join(home, 'logs'),
    run: path.join(home, 'run'),
    data: path.join(home, 'data'),
    cache: cache ?? path.join(home, 'cache'),
    config: path.join(home, 'config'),
    lock: path.join(home, 'run', 'stack.lock'),
    logFile: (name: string) => path.join(home, 'logs', `${name}.log`),
    pidFile: (name: string) => path.join(home, 'run', `${name}.pid`),
  };
}

export type StackPaths = ReturnType<typeof stackPaths>;
