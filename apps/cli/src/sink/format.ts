import type { ActorRecord, ProcessRecord, SupervisorRecord } from '@floodgate/nats';
import type { PartitionLag } from '@floodgate/sink-worker';
import { renderTable } from '../stack/format.ts';

export interface PartitionView {
  group: string;
  topic: string;
  partition: number;
  owner: string | null;
  actor: ActorRecord | null;
  committed: number | null;
  end: number;
  lag: number;
}

export interface StatusView {
  supervisors: SupervisorRecord[];
  processes: Array<ProcessRecord & { actors: ActorRecord[] }>;
  partitions: PartitionView[];
}

const ago = (iso: string | undefined, now: number): string => {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
};

const bytes = (n: number): string => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

const shortError = (e: { code: string; message: string; at: string } | undefined, now: number): string =>
  e ? `${ago(e.at, now)} ${e.code}: ${e.message.replace(/\s+/g, ' ').slice(0, 60)}` : '-';

/** The process state; while reconnecting to Kafka also since when, how many attempts, and when the next one is. */
const processState = (p: ProcessRecord, now: number): string => {
  const r = p.state === 'reconnecting' ? p.reconnecting : undefined;
  if (!r) return p.state;
  const next = r.nextAttemptAt ? `next in ${Math.max(0, Math.ceil((Date.parse(r.nextAttemptAt) - now) / 1000))}s` : 'connecting';
  return `reconnecting (since ${ago(r.since, now)}, attempt ${r.attempts}, ${next})`;
};

const duration = (iso: string, now: number): string => {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
};

/** One alert line per stuck partition (its batch kept failing past the bound), first in the output. */
export function stuckLines(view: StatusView, now = Date.now()): string[] {
  return view.partitions.flatMap((p) => {
    const s = p.actor?.stuck;
    if (!s) return [];
    const hint = s.needsOperator ? ' (will not pass by itself: needs an operator)' : '';
    return [
      `STUCK: partition ${p.partition} of ${p.topic} (group ${p.group}, process ${p.owner ?? '-'}) for ${duration(s.since, now)}: ${s.step} failing, ` +
        `${s.attempts} attempts, ${s.code}: ${s.message.replace(/\s+/g, ' ').slice(0, 120)}${hint}`,
    ];
  });
}

/** The `floodgate status` text: supervisors, processes, then every partition with its owner and lag. */
export function renderStatus(view: StatusView, now = Date.now()): string {
  const parts: string[] = [];
  const alerts = stuckLines(view, now);
  if (alerts.length > 0) parts.push(alerts.join('\n'));
  if (view.supervisors.length > 0) {
    parts.push(
      renderTable(
        ['SUPERVISOR', 'HOST', 'PID', 'MODE', 'DESIRED', 'PROCESSES', 'LAST SCALE'],
        view.supervisors.map((s) => [
          s.id,
          s.host,
          String(s.pid),
          s.mode === 'auto' && s.auto ? `auto ${s.auto.min}..${s.auto.max}` : 'fixed',
          String(s.desired),
          s.workers.map((w) => `${w.pid ?? '-'}:${w.state}${w.restarts ? `(${w.restarts} restarts)` : ''}`).join(' ') || '-',
          s.lastScale ? `${ago(s.lastScale.at, now)} ${s.lastScale.from}->${s.lastScale.to} (${s.lastScale.reason})` : '-',
        ]),
      ),
    );
  }
  parts.push(
    view.processes.length === 0
      ? 'no live sink processes'
      : renderTable(
          ['PROCESS', 'HOST', 'PID', 'STATE', 'GROUP', 'TOPIC', 'PARTITIONS', 'ROWS/S', 'ROWS', 'DLQ', 'LAST ERROR'],
          view.processes.map((p) => [
            p.id,
            p.host,
            String(p.pid),
            processState(p, now),
            p.group,
            p.topic,
            p.partitions.join(',') || '-',
            String(p.rowsPerSec),
            String(p.rowsInserted),
            String(p.deadLettered),
            shortError(p.lastError, now),
          ]),
        ),
  );
  const pairs = [...new Set(view.partitions.map((p) => `${p.group}\u0000${p.topic}`))];
  for (const pair of pairs) {
    const [group, topic] = pair.split('\u0000') as [string, string];
    const rows = view.partitions.filter((p) => p.group === group && p.topic === topic);
    const total = rows.reduce((n, p) => n + p.lag, 0);
    parts.push(
      `partitions of topic ${topic}, group ${group} (total lag ${total}):\n` +
        renderTable(
          ['PARTITION', 'OWNER', 'ACTOR', 'PAUSED', 'COMMITTED', 'END', 'LAG', 'BUFFERED', 'LAST FLUSH', 'ROWS/S', 'LAST ERROR'],
          rows.map((p) => {
            const a = p.actor;
            return [
              String(p.partition),
              p.owner ?? '-',
              a ? (a.stuck ? `${a.state} STUCK` : a.state) : '-',
              a && a.pausedFor.length > 0 ? a.pausedFor.join(',') : '-',
              p.committed === null ? '-' : String(p.committed),
              String(p.end),
              String(p.lag),
              a ? `${a.bufferedRows} rows` : '-',
              a?.lastFlush ? `${ago(a.lastFlush.at, now)}: ${a.lastFlush.rows} rows, ${bytes(a.lastFlush.bytes)}, ${a.lastFlush.ms} ms` : '-',
              a ? String(a.rowsPerSec) : '-',
              shortError(a?.lastError, now),
            ];
          }),
        ),
    );
  }
  return parts.join('\n\n');
}

/** Builds the view: processes with their actors, and every partition of each (group, topic) with its lag. */
export function buildStatusView(
  supervisors: SupervisorRecord[],
  processes: ProcessRecord[],
  actors: ActorRecord[],
  lags: Map<string, PartitionLag[]>,
  pairs: Array<{ group: string; topic: string }>,
): StatusView {
  const procById = new Map(processes.map((p) => [p.id, p]));
  const partitions: PartitionView[] = [];
  for (const { group, topic } of pairs) {
    const lag = lags.get(`${group}\u0000${topic}`) ?? [];
    for (const l of lag) {
      const actor = actors.find((a) => a.topic === topic && a.partition === l.partition && procById.get(a.process)?.group === group) ?? null;
      partitions.push({ group, topic, partition: l.partition, owner: actor?.process ?? null, actor, committed: l.committed, end: l.end, lag: l.lag });
    }
  }
  return {
    supervisors,
    processes: processes.map((p) => ({ ...p, actors: actors.filter((a) => a.process === p.id) })),
    partitions,
  };
}
