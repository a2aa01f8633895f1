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
});

const logger = createLogger('chdb-server');

async function main(): Promise<void> {
  const config = loadConfig(schema);
  const dataDir = path.resolve(config.CHDB_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const server = createChdbServer({ host: config.CHDB_SERVER_HOST, port: config.CHDB_SERVER_PORT, dataDir, logger });

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
  logger.info({ port, host: config.CHDB_SERVER_HOST, dataDir }, 'chdb-server listening');
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'chdb-server failed to start');
  process.exit(1);
});
