import { loadConfig } from '@floodgate/config';
import { createLogger } from '@floodgate/logging';
import { supervisorSchema } from './config.ts';
import { runSupervisor } from './run-supervisor.ts';

/** `node --import tsx apps/sink-worker/src/supervisor-main.ts`: the sink supervisor in the foreground. */
const logger = createLogger('sink-supervisor');
try {
  const config = loadConfig(supervisorSchema);
  await runSupervisor(config, logger.child({ supervisor: config.SINK_SUPERVISOR_ID }));
  process.exit(0);
} catch (error) {
  logger.fatal({ err: error }, 'sink supervisor failed');
  process.exit(1);
}
