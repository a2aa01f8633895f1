import type { Command } from 'commander';
import { loadConfig } from '@floodgate/config';
import { buildStatusView, renderStatus } from './format.ts';
import { cliSinkSchema, openControl, readLag, readMembers } from './control.ts';

/**
 * `floodgate status`: every live sink process (from the NATS members bucket), its partition
 * actors, and per partition the owner, consumer lag (from Kafka), last flush, rows/s and last error.
 */
export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('live sink processes, their partition actors, consumer lag per partition, last flush and errors')
    .option('--json', 'print as JSON')
    .option('--group <id>', 'also list the partitions of this consumer group (default: the groups of live processes, else SINK_GROUP_ID)')
    .action(async (options: { json?: boolean; group?: string }) => {
      const config = loadConfig(cliSinkSchema);
      const control = await openControl(config);
      try {
        const members = await readMembers(control.nc, config);
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
        process.stdout.write(options.json ? `${JSON.stringify(view, null, 2)}\n` : `${renderStatus(view)}\n`);
      } finally {
        await control.close();
      }
    });
}
