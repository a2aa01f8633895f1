import type { Command } from 'commander';
import { loadConfig } from '@floodgate/config';
import { FloodgateError } from '@floodgate/errors';
import { createLogger } from '@floodgate/logging';
import { JsonBucket, requestJson } from '@floodgate/nats';
import { batchKey, readMembers, sinkControlPlane, type SinkCommand, type SinkCommandResult, type SupervisorCommand, type SupervisorCommandResult } from '@floodgate/sink-protocol';
import { rangeSchema, runSupervisor, supervisorSchema } from '@floodgate/sink-worker';
import { renderTable } from '@floodgate/tables';
import { cliSinkSchema, openControl, type CliSinkConfig } from './control.ts';

const TIMEOUTS: Record<SinkCommand['cmd'], number> = { ping: 5000, pause: 10_000, resume: 10_000, flush: 60_000, drain: 120_000 };

async function processCommand(cmd: 'flush' | 'pause' | 'resume' | 'drain', options: { process?: string; json?: boolean }): Promise<void> {
  const config = loadConfig(cliSinkSchema);
  const control = await openControl(config);
  try {
    const { processes } = await readMembers(control.nc, config.SINK_NATS_PREFIX);
    const targets = options.process ? processes.filter((p) => p.id === options.process) : processes;
    if (targets.length === 0) {
      const known = processes.map((p) => p.id).join(', ') || 'none';
      throw new FloodgateError('SINK_NOT_FOUND', options.process ? `no live sink process ${options.process} (live: ${known})` : 'no live sink processes');
    }
    const plane = sinkControlPlane(config.SINK_NATS_PREFIX);
    const results = await Promise.allSettled(
      targets.map((p) => requestJson<SinkCommandResult>(control.nc, plane.processSubject(p.id), { cmd } satisfies SinkCommand, TIMEOUTS[cmd])),
    );
    const rows = results.map((r, i) => {
      const id = targets[i]!.id;
      if (r.status === 'rejected') return { process: id, ok: false, error: (r.reason as Error).message };
      return { ok: true, ...r.value };
    });
    if (options.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    } else {
      process.stdout.write(
        `${renderTable(
          ['PROCESS', 'RESULT', 'PARTITIONS', 'FLUSHED ROWS', 'COMMITTED'],
          rows.map((r) =>
            'error' in r
              ? [r.process, `failed: ${r.error}`, '-', '-', '-']
              : [
                  r.process,
                  cmd === 'drain' ? 'drained, left the group' : `${cmd} ok (${r.state})`,
                  r.partitions.join(',') || '-',
                  r.flushed ? String(r.flushed.reduce((n, f) => n + f.rows, 0)) : '-',
                  r.flushed ? r.flushed.map((f) => `${f.partition}:${f.committed ?? '-'}`).join(' ') : '-',
                ],
          ),
        )}\n`,
      );
    }
    if (rows.some((r) => !r.ok)) process.exitCode = 1;
  } finally {
    await control.close();
  }
}

async function supervisorCommand(config: CliSinkConfig, command: SupervisorCommand, supervisorId: string | undefined, json: boolean): Promise<void> {
  const control = await openControl(config);
  try {
    const { supervisors } = await readMembers(control.nc, config.SINK_NATS_PREFIX);
    let target = supervisorId;
    if (!target) {
      if (supervisors.length === 0) throw new FloodgateError('SINK_NOT_FOUND', 'no live sink supervisor (start one: floodgate sink start)');
      if (supervisors.length > 1) {
        throw new FloodgateError('SINK_NOT_FOUND', `several sink supervisors are live, pick one with --supervisor: ${supervisors.map((s) => s.id).join(', ')}`);
      }
      target = supervisors[0]!.id;
    }
    const plane = sinkControlPlane(config.SINK_NATS_PREFIX);
    const result = await requestJson<SupervisorCommandResult>(control.nc, plane.supervisorSubject(target), command, 10_000);
    if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const mode = result.mode === 'auto' && result.auto ? `auto ${result.auto.min}..${result.auto.max}` : 'fixed';
      process.stdout.write(`${renderTable(['SUPERVISOR', 'MODE', 'PROCESSES', 'WAS'], [[result.supervisor, mode, String(result.desired), String(result.previous)]])}\n`);
    }
  } finally {
    await control.close();
  }
}

/**
 * Deletes one partition's batch record (docs/security.md, "Forged batch records"): the recovery
 * after the sink refused it (SINK_BATCH_RECORD_INVALID). The partition then starts from the
 * committed offset as after a lost record, skipping only rows the events table already holds.
 */
async function forgetBatchRecord(config: CliSinkConfig, topic: string, partition: number): Promise<void> {
  const control = await openControl(config);
  try {
    const batches = await JsonBucket.open<unknown>(control.nc, sinkControlPlane(config.SINK_NATS_PREFIX).batchesBucket, { existing: true });
    const key = batchKey(config.SINK_GROUP_ID, topic, partition);
    const current = await batches.get(key);
    if (!current) throw new FloodgateError('SINK_NOT_FOUND', `no batch record for ${topic}/${partition} of group ${config.SINK_GROUP_ID}`);
    await batches.delete(key);
    process.stdout.write(`deleted the batch record of ${topic}/${partition} (group ${config.SINK_GROUP_ID}) after printing it:\n${JSON.stringify(current.value)}\n`);
  } finally {
    await control.close();
  }
}

/** `floodgate sink flush | pause | resume | drain [--process ID]`, `sink scale N | --auto MIN..MAX`, `sink start`, `sink forget-batch-record`. */
export function registerSinkCommands(program: Command): void {
  const sink = program.command('sink').description('control the sink processes over NATS (see docs/sink.md)');

  const describe: Record<'flush' | 'pause' | 'resume' | 'drain', string> = {
    flush: 'insert and commit every buffered batch now',
    pause: 'stop fetching from Kafka (buffered rows are still flushed)',
    resume: 'fetch again after a pause',
    drain: 'flush and commit, then leave the consumer group and exit (the others take the partitions over)',
  };
  for (const cmd of ['flush', 'pause', 'resume', 'drain'] as const) {
    sink
      .command(cmd)
      .description(describe[cmd])
      .option('--process <id>', 'only this process (an id from `floodgate status`); default: every live process')
      .option('--json', 'print the replies as JSON')
      .action((options: { process?: string; json?: boolean }) => processCommand(cmd, options));
  }

  sink
    .command('scale')
    .description('set the number of sink processes of the supervisor, or let it scale from consumer lag with --auto')
    .argument('[processes]', 'how many sink processes to run')
    .option('--auto <range>', 'scale between MIN..MAX processes from measured consumer lag')
    .option('--supervisor <id>', 'which supervisor, when several are live')
    .option('--json', 'print the reply as JSON')
    .action(async (processes: string | undefined, options: { auto?: string; supervisor?: string; json?: boolean }) => {
      const config = loadConfig(cliSinkSchema);
      let command: SupervisorCommand;
      if (options.auto !== undefined) {
        if (processes !== undefined) throw new FloodgateError('CONFIG_INVALID', 'give either a number of processes or --auto MIN..MAX, not both');
        const parsed = rangeSchema.safeParse(options.auto);
        if (!parsed.success) throw new FloodgateError('CONFIG_INVALID', `--auto ${options.auto}: ${parsed.error.issues[0]?.message}`);
        command = { cmd: 'auto', min: parsed.data.min, max: parsed.data.max };
      } else {
        const n = Number(processes);
        if (processes === undefined || !Number.isInteger(n) || n < 0 || n > 64) {
          throw new FloodgateError('CONFIG_INVALID', `sink scale needs a number of processes from 0 to 64, or --auto MIN..MAX (got ${processes ?? 'nothing'})`);
        }
        command = { cmd: 'scale', processes: n };
      }
      await supervisorCommand(config, command, options.supervisor, options.json === true);
    });

  sink
    .command('forget-batch-record')
    .description('delete the batch record of a partition the sink refused (SINK_BATCH_RECORD_INVALID); it then starts over from the committed offset, skipping only rows the table holds')
    .requiredOption('--partition <n>', 'the partition (from floodgate status)')
    .option('--topic <name>', 'the topic (default KAFKA_TOPIC)')
    .action(async (options: { partition: string; topic?: string }) => {
      const config = loadConfig(cliSinkSchema);
      const partition = Number(options.partition);
      if (!Number.isInteger(partition) || partition < 0) throw new FloodgateError('CONFIG_INVALID', `--partition must be a partition number (got ${options.partition})`);
      await forgetBatchRecord(config, options.topic ?? config.KAFKA_TOPIC, partition);
    });

  sink
    .command('start')
    .description('run the sink supervisor in the foreground: N sink processes on this host (Ctrl-C drains them)')
    .option('--processes <n>', 'sink processes to start (default SINK_PROCESSES, 1)')
    .option('--auto <range>', 'scale between MIN..MAX from consumer lag (default SINK_AUTOSCALE)')
    .action(async (options: { processes?: string; auto?: string }) => {
      const env = { ...process.env };
      if (options.processes !== undefined) env.SINK_PROCESSES = options.processes;
      if (options.auto !== undefined) env.SINK_AUTOSCALE = options.auto;
      const config = loadConfig(supervisorSchema, { env });
      await runSupervisor(config, createLogger('sink-supervisor').child({ supervisor: config.SINK_SUPERVISOR_ID }));
    });
}
