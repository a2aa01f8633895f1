import type { Command } from 'commander';
import { loadConfig, stackSchema } from '@floodgate/config';
import { renderTable } from '@floodgate/tables';
import { renderStatusTable } from './format.ts';
import { stackDown, stackStatus, stackUp } from './stack.ts';

const say = (line: string) => process.stderr.write(`${line}\n`);

/** `floodgate stack up | down | status`. Configuration comes from the environment (see libs/config). */
export function registerStackCommands(program: Command): void {
  const stack = program
    .command('stack')
    .description('the local Kafka, NATS and ClickHouse servers (state under FLOODGATE_HOME, default .floodgate/)');

  stack
    .command('up')
    .description('start what is not running yet and wait until every server answers; idempotent')
    .option('--json', 'print the resulting status as JSON')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig(stackSchema);
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
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig(stackSchema);
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
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig(stackSchema);
      const status = await stackStatus(config);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      } else {
        process.stdout.write(`${renderStatusTable(status.servers)}\n`);
      }
    });
}
