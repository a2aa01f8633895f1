import type { Command } from 'commander';
import { loadConfig, stackSchema } from '@floodgate/config';
import { renderTable } from '@floodgate/tables';
import { renderStatusTable } from './format.ts';
import { stackDown, stackStatus, stackUp } from './stack.ts';

const say = (line: string) => process.stderr.write(`${line}\n`);

/** `floodgate stack up | down | status`. Configuration comes from the environment (see libs/config). */
/** A command's result: as JSON with --json, else as the table `render` makes of it. */
function print<T>(options: { json?: boolean }, result: T, render: (result: T) => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${render(result)}\n`);
}

export function registerStackCommands(program: Command): void {
  const stack = program
    .command('stack')
    .description('the local Kafka, NATS and ClickHouse servers (state under FLOODGATE_HOME, default .floodgate/)');

  stack
    .command('up')
    .description('start what is not running yet and wait until every server answers; idempotent')
    .option('--json', 'print the resulting status as JSON')
    .action(async (options: { json?: boolean }) => {
      print(options, await stackUp(loadConfig(stackSchema), { say }), (result) => renderStatusTable(result.servers));
    });

  stack
    .command('down')
    .description('stop the servers `stack up` started (never external ones)')
    .option('--json', 'print what was stopped as JSON')
    .action(async (options: { json?: boolean }) => {
      print(options, await stackDown(loadConfig(stackSchema), { say }), (result) =>
        renderTable(['NAME', 'PID', 'RESULT'], result.servers.map((s) => [s.name, s.pid === null ? '-' : String(s.pid), s.action])),
      );
    });

  stack
    .command('status')
    .description('each server: address, pid (or "external"), and whether it answers a real request now')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      print(options, await stackStatus(loadConfig(stackSchema)), (status) => renderStatusTable(status.servers));
    });
}
