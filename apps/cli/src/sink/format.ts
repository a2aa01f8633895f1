import type { ActorRecord, ErrorClass, Health, PartitionError, PartitionView, ProcessRecord, StatusView, StuckInfo, SupervisorRecord } from '@floodgate/sink-protocol';
import type { PartitionLag } from '@floodgate/kafka';
import { renderTable } from '@floodgate/tables';

export type { ErrorClass, Health, PartitionError, PartitionView, StatusView };

export interface RenderOptions {
  /** Long columns too: committed and end offsets, buffered rows, rows/s, the full error messages. */
  wide?: boolean;
}

const ago = (iso: string | undefined, now: number): string => {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
};

const bytes = (n: number): string => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** Age and code; the message too with --wide (cut messages hid their useful part). */
const shortError = (e: { code: string; message: string; at: string } | undefined, now: number, wide = false): string =>
  e ? `${ago(e.at, now)} ${e.code}${wide ? `: ${oneLine(e.message)}` : ''}` : '-';

export const errorClass = (needsOperator: boolean): ErrorClass => (needsOperator ? 'never-succeeds' : 'will-retry');

const fullCode = (e: { code: string; cause: string | null }) => (e.cause ? `${e.code} (${e.cause})` : e.code);

/** The cause code a sink older than the `cause` field put at the head of the message (`60 UNKNOWN_TABLE: …`). */
const causeOf = (f: StuckInfo): string | null => f.cause ?? /^(\d+ [A-Z_]+):/.exec(f.message)?.[1] ?? null;

function partitionError(actor: ActorRecord | null): PartitionError | null {
  const f = actor?.stuck ?? actor?.failing;
  if (!f) return null;
  const cause = causeOf(f);
  return {
    code: f.code,
    cause,
    class: errorClass(f.needsOperator),
    since: f.since,
    attempts: f.attempts,
    step: f.step,
    stuck: actor?.stuck !== undefined,
    // The cause is shown with the code; the message is what follows it.
    message: cause && f.message.startsWith(`${cause}: `) ? f.message.slice(cause.length + 2) : f.message,
  };
}

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
    const e = p.error;
    if (!e?.stuck) return [];
    const hint = e.class === 'never-succeeds' ? ' [never-succeeds: will not pass by itself, needs an operator]' : ' [will-retry: may pass by itself]';
    return [
      `STUCK: partition ${p.partition} of ${p.topic} (group ${p.group}, process ${p.owner ?? '-'}) for ${duration(e.since, now)}: ${e.step} failing, ` +
        `${e.attempts} attempts, ${fullCode(e)}: ${oneLine(e.message)}${hint}`,
    ];
  });
}

/** The `floodgate status` text: supervisors, processes, then every partition with its owner and lag. */
export function renderStatus(view: StatusView, now = Date.now(), options: RenderOptions = {}): string {
  const wide = options.wide === true;
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
            shortError(p.lastError, now, wide),
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
          wide
            ? ['PARTITION', 'OWNER', 'ACTOR', 'PAUSED', 'COMMITTED', 'END', 'LAG', 'BUFFERED', 'LAST FLUSH', 'ROWS/S', 'ERROR', 'CLASS', 'SINCE', 'MESSAGE']
            : ['PARTITION', 'OWNER', 'ACTOR', 'PAUSED', 'LAG', 'LAST FLUSH', 'ERROR', 'CLASS', 'SINCE'],
          rows.map((p) => {
            const a = p.actor;
            const e = p.error;
            const flush = a?.lastFlush ? `${ago(a.lastFlush.at, now)}: ${a.lastFlush.rows} rows, ${bytes(a.lastFlush.bytes)}, ${a.lastFlush.ms} ms` : '-';
            const error = e ? [fullCode(e), e.class, `${ago(e.since, now)} (${e.attempts} attempts)`] : a?.lastError ? [`${a.lastError.code} (${ago(a.lastError.at, now)}, passed)`, '-', '-'] : ['-', '-', '-'];
            const head = [String(p.partition), p.owner ?? '-', a ? (a.stuck ? `${a.state} STUCK` : a.state) : '-', a && a.pausedFor.length > 0 ? a.pausedFor.join(',') : '-'];
            if (!wide) return [...head, String(p.lag), flush, ...error];
            return [
              ...head,
              p.committed === null ? '-' : String(p.committed),
              String(p.end),
              String(p.lag),
              a ? `${a.bufferedRows} rows` : '-',
              flush,
              a ? String(a.rowsPerSec) : '-',
              ...error,
              e ? oneLine(e.message) : a?.lastError ? oneLine(a.lastError.message) : '-',
            ];
          }),
        ),
    );
    // Why each paused partition is paused (the PAUSED column only names the reason).
    const why = rows.flatMap((p) => p.paused.map((line) => `partition ${p.partition} paused: ${line}`));
    if (why.length > 0) parts.push(why.join('\n'));
  }
  if (view.freshness !== undefined) {
    parts.push(
      view.freshness === null
        ? 'freshness: unknown (ClickHouse could not be read)'
        : view.freshness.length === 0
          ? 'freshness: no canary landed in the last 10 minutes (GATEWAY_CANARY_INTERVAL_MS; floodgate start runs one every 5 s)'
          : view.freshness.map((f) => `freshness: ${f.seconds.toFixed(3)} s from accepted to queryable (gateway ${f.gateway}, canary landed ${ago(f.landedAt, now)})`).join('\n'),
    );
  }
  if (!view.health.ok) parts.push(`unhealthy (exit 2):\n${view.health.problems.map((p) => `  ${p}`).join('\n')}`);
  return parts.join('\n\n');
}

/** Unhealthy: a partition stuck past the bound, or failing with an error that never succeeds by itself. */
export function healthOf(partitions: PartitionView[]): Health {
  const problems = partitions.flatMap((p) => {
    const e = p.error;
    if (!e || (!e.stuck && e.class !== 'never-succeeds')) return [];
    return [`partition ${p.partition} of ${p.topic} (group ${p.group}) ${e.stuck ? 'stuck' : 'failing'} since ${e.since}: ${fullCode(e)} [${e.class}]`];
  });
  return { ok: problems.length === 0, problems };
}

/** The newest record per key: a member listed twice (read while its heartbeat rewrote it) is one process. */
function newestBy<T extends { heartbeatAt: string }>(records: T[], key: (r: T) => string): T[] {
  const out = new Map<string, T>();
  for (const r of records) {
    const seen = out.get(key(r));
    if (!seen || seen.heartbeatAt < r.heartbeatAt) out.set(key(r), r);
  }
  return [...out.values()];
}

/** Builds the view: processes with their actors, and every partition of each (group, topic) with its lag. */
export function buildStatusView(
  supervisors: SupervisorRecord[],
  processes: ProcessRecord[],
  actors: ActorRecord[],
  lags: Map<string, PartitionLag[]>,
  pairs: Array<{ group: string; topic: string }>,
): StatusView {
  const liveProcesses = newestBy(processes, (p) => p.id).sort((a, b) => a.id.localeCompare(b.id));
  const liveActors = newestBy(actors, (a) => `${a.process}\u0000${a.topic}\u0000${a.partition}`).filter((a) => liveProcesses.some((p) => p.id === a.process));
  const liveSupervisors = newestBy(supervisors, (s) => s.id);
  const procById = new Map(liveProcesses.map((p) => [p.id, p]));
  const partitions: PartitionView[] = [];
  for (const { group, topic } of pairs) {
    const lag = lags.get(`${group}\u0000${topic}`) ?? [];
    for (const l of lag) {
      const actor = liveActors.find((a) => a.topic === topic && a.partition === l.partition && procById.get(a.process)?.group === group) ?? null;
      // A partition a process lists but whose actor record is not in yet is still owned by it.
      const owner = actor?.process ?? liveProcesses.find((p) => p.group === group && p.topic === topic && p.partitions.includes(l.partition))?.id ?? null;
      partitions.push({ group, topic, partition: l.partition, owner, actor, committed: l.committed, end: l.end, lag: l.lag, paused: actor?.pausedWhy ?? actor?.pausedFor ?? [], error: partitionError(actor) });
    }
  }
  return {
    health: healthOf(partitions),
    supervisors: liveSupervisors,
    processes: liveProcesses.map((p) => ({ ...p, actors: liveActors.filter((a) => a.process === p.id) })),
    partitions,
  };
}
