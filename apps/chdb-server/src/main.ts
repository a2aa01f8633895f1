import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { env, loadConfig } from '@floodgate/config';
import { onStopRequest } from '@floodgate/lifecycle';
import { createLogger } from '@floodgate/logging';
import { createChdbServer } from './server.ts';

/**
 * The embedded ClickHouse endpoint as a process: owns the chDB data folder and answers ClickHouse's
 * HTTP interface on CHDB_SERVER_HOST:CHDB_SERVER_PORT. Ready when `GET /ping` answers `Ok.`; stops
 * cleanly on SIGTERM / SIGINT.
 */
const schema = z.object({
  CHDB_SERVER_HOST: env.string('127.0.0.1'),
  CHDB_SERVER_PORT: env.int(8123, 0, 65535),
  CHDB_DATA_DIR: env.string('.floodgate/data/clickhouse'),
  /** The user every query must authenticate as (ClickHouse's CLICKHOUSE_USER on the client side). */
  CHDB_SERVER_USER: env.string('default'),
  /** Its password; empty means open, as ClickHouse's passwordless `default`. `stack up` generates one. */
  CHDB_SERVER_PASSWORD: z.string().default(''),
  /** Server default of max_execution_time (s) per query; 0: unlimited. A request's own value wins. */
  CHDB_MAX_EXECUTION_TIME_S: env.int(60, 0, 86_400),
});

const logger = createLogger('chdb-server');

async function main(): Promise<void> {
  const config = loadConfig(schema);
  const dataDir = path.resolve(config.CHDB_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const server = createChdbServer({
    host: config.CHDB_SERVER_HOST,
    port: config.CHDB_SERVER_PORT,
    dataDir,
    logger,
    credentials: { user: config.CHDB_SERVER_USER, password: config.CHDB_SERVER_PASSWORD },
    maxExecutionTimeS: config.CHDB_MAX_EXECUTION_TIME_S,
  });
  if (config.CHDB_SERVER_PASSWORD === '') {
    logger.warn({ user: config.CHDB_SERVER_USER }, 'CHDB_SERVER_PASSWORD is empty: any local process (and any request without credentials) can run queries');
  }

  let stopping = false;
  // Signals only: `floodgate stack up` starts it detached and exits, which must not stop it.
  onStopRequest(
    (signal) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'chdb-server stopping');
      server.close().then(
        () => {
          logger.info('chdb-server stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'chdb-server shutdown failed');
          process.exit(1);
        },
      );
    },
    { parent: false },
  );

  const { port } = await server.listen();
  logger.info({ port, host: config.CHDB_SERVER_HOST, dataDir, max_execution_time_s: config.CHDB_MAX_EXECUTION_TIME_S, auth: config.CHDB_SERVER_PASSWORD !== '' }, 'chdb-server listening');
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'chdb-server failed to start');
  process.exit(1);
});
