import type { Command } from 'commander';
import { clickhouseUrl, loadConfig, stackSchema } from '@floodgate/config';
import { createClickHouse } from '@floodgate/clickhouse';
import { FloodgateError } from '@floodgate/errors';
import { TraceStore, parseDuration } from '@floodgate/telemetry';
import { renderJourney, renderJourneyList } from './render.ts';

interface StoreOptions {
  database?: string;
}

/** The span store of CLICKHOUSE_DATABASE (or --database), on the stack's ClickHouse. */
async function withStore<T>(options: StoreOptions, run: (store: TraceStore, database: string) => Promise<T>): Promise<T> {
  const config = loadConfig(stackSchema);
  const database = options.database ?? config.CLICKHOUSE_DATABASE;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new FloodgateError('CONFIG_INVALID', `--database: ${database} is not a plain identifier`);
  const client = createClickHouse({ url: clickhouseUrl(config), username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, database: 'default', requestTimeoutMs: 15_000 });
  try {
    return await run(new TraceStore({ client, database }), database);
  } catch (error) {
    if (error instanceof FloodgateError) throw error;
    const message = (error as Error).message ?? String(error);
    if (/UNKNOWN_TABLE|UNKNOWN_DATABASE|Code: (60|81)\./.test(message)) {
      throw new FloodgateError('NOT_FOUND', `no span store in ${database} yet (${database}.otel_traces is created when the first span is exported)`);
    }
    throw new FloodgateError('CLICKHOUSE_UNAVAILABLE', `cannot read the span store: ${message}`, { cause: error, retriable: true });
  } finally {
    await client.close();
  }
}

/** `floodgate trace <id>`: one event's journey from the span store (docs/tracing.md). */
export function registerTraceCommand(program: Command): void {
  program
    .command('trace')
    .description("an event's journey (gateway → ingest worker → Kafka → sink → ClickHouse) as a waterfall, by event id or trace id")
    .argument('<id>', 'an event id, or a 32-hex-digit trace id')
    .option('--json', 'print the journey as JSON')
    .option('--database <name>', 'the database of the span store and events table (default: CLICKHOUSE_DATABASE)')
    .action(async (id: string, options: StoreOptions & { json?: boolean }) => {
      const journey = await withStore(options, (store) => store.journey(id));
      if (!journey) {
        throw new FloodgateError(
          'NOT_FOUND',
          `no trace for ${id}: it was not sampled (OTEL_TRACES_SAMPLER_ARG; a client's sampled traceparent always is), its spans are not exported yet (about 1 s), or they expired (72 h)`,
        );
      }
      process.stdout.write(options.json ? `${JSON.stringify(journey, null, 2)}\n` : `${renderJourney(journey)}\n`);
    });
}

/** `floodgate traces --slowest N --since 10m`: journeys of a time window (docs/tracing.md). */
export function registerTracesCommand(program: Command): void {
  program
    .command('traces')
    .description('the slowest (or most recent) end-to-end journeys in a time window')
    .option('--slowest <n>', 'the N slowest journeys (the default, N = 10)')
    .option('--recent <n>', 'the N most recent journeys instead')
    .option('--since <duration>', 'how far back: 90s, 10m, 2h, 1d', '10m')
    .option('--json', 'print as JSON')
    .option('--database <name>', 'the database of the span store (default: CLICKHOUSE_DATABASE)')
    .action(async (options: StoreOptions & { slowest?: string; recent?: string; since: string; json?: boolean }) => {
      const sinceSeconds = parseDuration(options.since);
      if (sinceSeconds === undefined || sinceSeconds <= 0) throw new FloodgateError('CONFIG_INVALID', `--since: ${options.since} is not a duration like 90s, 10m, 2h or 1d`);
      if (options.slowest !== undefined && options.recent !== undefined) throw new FloodgateError('CONFIG_INVALID', '--slowest and --recent exclude each other');
      const order = options.recent !== undefined ? 'recent' : 'slowest';
      const limit = Number(options.recent ?? options.slowest ?? '10');
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new FloodgateError('CONFIG_INVALID', `--${order}: give a whole number from 1 to 10000`);
      const journeys = await withStore(options, (store) => store.list({ sinceSeconds, limit, order }));
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ order, since: options.since, journeys }, null, 2)}\n`);
        return;
      }
      const title = `${order === 'slowest' ? 'Slowest' : 'Most recent'} ${journeys.length} journey(s) started in the last ${options.since}`;
      process.stdout.write(`${renderJourneyList(title, journeys)}\n`);
    });
}
