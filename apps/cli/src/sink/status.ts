import type { Command } from 'commander';
import { loadConfig } from '@floodgate/config';
import { buildStatusView, renderStatus } from './format.ts';
import { readMembers } from '@floodgate/sink-protocol';
import { cliSinkSchema, openControl, readFreshness, readLag } from './control.ts';

/**
 * `floodgate status`: every live sink process (from the NATS members bucket), its partition
 * actors, and per partition the owner, consumer lag (from Kafka), last flush, the error it is
 * failing with (full code, class, since when) and why it is paused.
 *
 * Exit code: 0 healthy, 2 unhealthy (a partition stuck, or failing with an error that never
 * succeeds by itself; listed under "unhealthy"), 1 when the status cannot be read. So it serves as
 * a probe: `floodgate status >/dev/null || alert`.
 */
export const UNHEALTHY_EXIT_CODE = 2;

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('live sink processes, their partition actors, consumer lag per partition, last flush, errors (class, since when), why paused; exit 2 when unhealthy')
    .option('--json', 'print as JSON (health, supervisors, processes, partitions; ISO-8601 times)')
    .option('--wide', 'also the long columns: offsets, buffered rows, rows/s and the full error messages')
    .option('--group <id>', 'also list the partitions of this consumer group (default: the groups of live processes, else SINK_GROUP_ID)')
    .action(async (options: { json?: boolean; wide?: boolean; group?: string }) => {
      const config = loadConfig(cliSinkSchema);
      const control = await openControl(config);
      try {
        const members = await readMembers(control.nc, config.SINK_NATS_PREFIX);
        const pairs = new Map<string, { group: string; topic: string }>();
        for (const p of members.processes) pairs.set(`${p.group}\u0000${p.topic}`, { group: p.group, topic: p.topic });
        for (const s of members.supervisors) pairs.set(`${s.group}\u0000${s.topic}`, { group: s.group, topic: s.topic });
        const group = options.group ?? (pairs.size === 0 ? config.SINK_GROUP_ID : undefined);
        if (group) pairs.set(`${group}\u0000${config.KAFKA_TOPIC}`, { group, topic: config.KAFKA_TOPIC });
        const lags = await readLag(config, [...pairs.values()]).catch((error: unknown) => {
          process.stderr.write(`floodgate: warning: cannot read consumer lag from Kafka: ${(error as Error).message}\n`);
          return new Map();
        });
        const view = buildStatusView(members.supervisors, members.processes, members.actors, lags, [...pairs.values()]);
        view.freshness = await readFreshness(config).catch((error: unknown) => {
          process.stderr.write(`floodgate: warning: cannot read the freshness canary from ClickHouse: ${(error as Error).message}\n`);
          return null;
        });
        process.stdout.write(options.json ? `${JSON.stringify(view, null, 2)}\n` : `${renderStatus(view, Date.now(), { wide: options.wide === true })}\n`);
        if (!view.health.ok) process.exitCode = UNHEALTHY_EXIT_CODE;
      } finally {
        await control.close();
      }
    });
}
