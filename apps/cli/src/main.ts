import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isFloodgateError } from '@floodgate/errors';
import { registerCommands } from './commands.ts';

/** One line on stderr naming the error code, so a user can look it up in docs/errors.md. */
function report(error: unknown): void {
  if (isFloodgateError(error)) {
    process.stderr.write(`floodgate: error ${error.code}: ${error.message}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`floodgate: error INTERNAL: ${message}\n`);
    if (process.env.FLOODGATE_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  }
}

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('floodgate')
  .description('Floodgate: HTTP/WebSocket events → Kafka → ClickHouse')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride();

// Only the command that runs is loaded: `--help` and `--version` stay well under a second.
await registerCommands(program, process.argv);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help / version text).
    process.exitCode = error.exitCode;
  } else {
    report(error);
    process.exitCode = 1;
  }
}
