import type { Command } from 'commander';
import { loadConfig, stackSchema } from '@floodgate/config';
import { renderTable } from '@floodgate/tables';
import { renderStatusTable } from './format.ts';
import { stackDown, stackStatus, stackUp } from './stack.ts';

const say = (line: string) => process.stderr.write(`${line}\n`);

const BROKERS_OPTION = ['--kafka-brokers <n>', 'local Kafka brokers: 1, or 3 for a replicated cluster (default $KAFKA_LOCAL_BROKERS, 1)'] as const;

/** The stack configuration, `--kafka-brokers` standing in for KAFKA_LOCAL_BROKERS. */
function stackConfig(options: StackOptions) {
  if (options.kafkaBrokers === undefined) return loadConfig(stackSchema);
  return loadConfig(stackSchema, { env: { ...process.env, KAFKA_LOCAL_BROKERS: options.kafkaBrokers } });
}

/** A command's result: as JSON with --json, else as the table `render` makes of it. */
function print<T>(options: { json?: boolean }, result: T, render: (result: T) => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${render(result)}\n`);
}

interface StackOptions {
  json?: boolean;
  kafkaBrokers?: string;
}

/** A `stack` subcommand with the options all three take. */
function stackCommand(stack: Command, name: string, description: string, jsonHelp: string): Command {
  return stack.command(name).description(description).option('--json', jsonHelp).option(...BROKERS_OPTION);
}

export function registerStackCommands(program: Command): void {
  const stack = program
    .command('stack')
    .description('the local Kafka, NATS and ClickHouse servers (state under FLOODGATE_HOME, default .floodgate/)');

  stackCommand(stack, 'up', 'start what is not running yet and wait until every server answers; idempotent', 'print the resulting status as JSON').action(
    async (options: StackOptions) => {
      print(options, await stackUp(stackConfig(options), { say }), (result) => renderStatusTable(result.servers));
    },
  );

  stackCommand(stack, 'down', 'stop the servers `stack up` started (never external ones)', 'print what was stopped as JSON').action(async (options: StackOptions) => {
    print(options, await stackDown(stackConfig(options), { say }), (result) =>
      renderTable(['NAME', 'PID', 'RESULT'], result.servers.map((s) => [s.name, s.pid === null ? '-' : String(s.pid), s.action])),
    );
  });

  const statusHelp = 'each server: address, pid (or "external"), and whether it answers a real request now';
  stackCommand(stack, 'status', statusHelp, 'print as JSON').action(async (options: StackOptions) => {
    print(options, await stackStatus(stackConfig(options)), (status) => renderStatusTable(status.servers));
  });
}
