import type { Command } from 'commander';

/**
 * The top-level commands and where each is defined. `floodgate --help` lists them from here
 * without loading any of their modules (Kafka, ClickHouse, NATS clients, the bench): a command's
 * module is imported only when that command runs (or its own help is asked for). The descriptions
 * must equal the ones the modules register (apps/cli/test/cli-conventions.unit.test.ts checks).
 */
export interface LazyCommand {
  name: string;
  usage: string;
  description: string;
  load: () => Promise<(program: Command) => void>;
}

export const COMMANDS: LazyCommand[] = [
  { name: 'stack', usage: '', description: 'the local Kafka, NATS and ClickHouse servers (state under FLOODGATE_HOME, default .floodgate/)', load: async () => (await import('./stack/commands.ts')).registerStackCommands },
  { name: 'start', usage: '', description: 'bring the local stack up and run gateway + sink (under its supervisor) in the foreground, restarting any process that dies (Ctrl-C stops the pipeline, the stack keeps running)', load: async () => (await import('./run/commands.ts')).registerRunCommands },
  { name: 'status', usage: '[options]', description: 'live sink processes, their partition actors, consumer lag per partition, last flush, errors (class, since when), why paused; exit 2 when unhealthy', load: async () => (await import('./sink/status.ts')).registerStatusCommand },
  { name: 'sink', usage: '', description: 'control the sink processes over NATS (see docs/sink.md)', load: async () => (await import('./sink/commands.ts')).registerSinkCommands },
  { name: 'bench', usage: '', description: 'load generator with delivery proof: scenarios constant, wave, storm, soak, find-max, file; history and compare (docs/bench.md)', load: async () => (await import('./bench/commands.ts')).registerBenchCommands },
  { name: 'trace', usage: '[options] <id>', description: "an event's journey (gateway → ingest worker → Kafka → sink → ClickHouse) as a waterfall, by event id or trace id", load: async () => (await import('./trace/commands.ts')).registerTraceCommand },
  { name: 'traces', usage: '[options]', description: 'the slowest (or most recent) end-to-end journeys in a time window', load: async () => (await import('./trace/commands.ts')).registerTracesCommand },
];

/**
 * Registers the command named in argv fully (its module loaded), and every other one as a stub
 * with its description only, for the top-level help.
 */
export async function registerCommands(program: Command, argv: string[], commands: LazyCommand[] = COMMANDS): Promise<void> {
  const args = argv.slice(2);
  // `floodgate help bench` asks for bench's help: bench is the one to load.
  const wanted = args[0] === 'help' ? args[1] : args[0];
  for (const c of commands) {
    if (c.name === wanted) (await c.load())(program);
    else program.command(c.name).usage(c.usage).description(c.description);
  }
}
