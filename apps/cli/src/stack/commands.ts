import type { Command } from 'commander';
import { loadConfig, stackSchema } from '@floodgate/config';
import { renderTable } from '@floodgate/tables';
import { renderStatusTable } from './format.ts';
import { stackDown, stackStatus, stackUp } from './stack.ts';

const say = (line: string) => process.stderr.write(`${line}\n`);

const BROKERS_OPTION = ['--kafka-brokers <n>', 'local Kafka brokers: 1, or 3 for a replicated cluster (default $KAFKA_LOCAL_BROKERS, 1)'] as const;

/** The stack configuration, `--kafka-brokers` standing in for KAFKA_LOCAL_BROKERS. */
function stackConfig(options: { kafkaBrokers?: string }) {
  if (options.kafkaBrokers === undefined) return loadConfig(stackSchema);
  return loadConfig(stackSchema, { env: { ...process.env, KAFKA_LOCAL_BROKERS: options.kafkaBrokers } });
}

/** `floodgate stack up | down | status`. Configuration comes from the environment (see libs/config). */
export function registerStackCommands(program: Command): void {
  const stack = program
    .command('stack')
    .description('the local Kafka, NATS and ClickHouse servers (state under FLOODGATE_HOME, default .floodgate/)');

  stack
    .command('up')
    .description('start what is not running yet and wait until every server answers; idempotent')
    .option('--json', 'print the resulting status as JSON')
    .option(...BROKERS_OPTION)
    .action(async (options: { json?: boolean; kafkaBrokers?: string }) => {
      const config = stackConfig(options);
      const result = await stackUp(config, { say });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } else {
        process.stdout.write(`${renderStatusTable(result.servers)}\n`);
      }
    });

  stack
    .command('down')
    .description('stop the servers `stack up` started (never external ones)')
    .option('--json', 'print what was stopped as JSON')
    .option(...BROKERS_OPTION)
    .action(async (options: { json?: boolean; kafkaBrokers?: string }) => {
      const config = stackConfig(options);
      const result = await stackDown(config, { say });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } else {
        const rows = result.servers.map((s) => [s.name, s.pid === null ? '-' : String(s.pid), s.action]);
        process.stdout.write(`${renderTable(['NAME', 'PID', 'RESULT'], rows)}\n`);
      }
    });

  stack
    .command('status')
    .description('each server: address, pid (or "external"), and whether it answers a real request now')
    .option('--json', 'print as JSON')
    .option(...BROKERS_OPTION)
    .action(async (options: { json?: boolean; kafkaBrokers?: string }) => {
      const config = stackConfig(options);
      const status = await stackStatus(config);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      } else {
        process.stdout.write(`${renderStatusTable(status.servers)}\n`);
      }
    });
}
