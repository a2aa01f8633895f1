import { Command, CommanderError } from 'commander';
import { isFloodgateError } from '@floodgate/errors';
import { registerRunCommands } from './run/commands.ts';
import { registerStackCommands } from './stack/commands.ts';

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

const program = new Command('floodgate')
  .description('Floodgate: HTTP/WebSocket events → Kafka → ClickHouse')
  .showHelpAfterError()
  .exitOverride();

registerStackCommands(program);
registerRunCommands(program);
(await import('./sink/status.ts')).registerStatusCommand(program);
(await import('./sink/commands.ts')).registerSinkCommands(program);
(await import('./bench/commands.ts')).registerBenchCommands(program);
(await import('./trace/commands.ts')).registerTraceCommand(program);
(await import('./trace/commands.ts')).registerTracesCommand(program);

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
