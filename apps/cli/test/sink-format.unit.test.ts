import { describe, expect, it } from 'vitest';
import type { ActorRecord, ProcessRecord, StuckInfo, SupervisorRecord } from '@floodgate/sink-protocol';
import { buildStatusView, renderStatus } from '../src/sink/format.ts';

const now = Date.parse('2026-01-01T00:00:10.000Z');
const at = (secondsAgo: number) => new Date(now - secondsAgo * 1000).toISOString();

const supervisor: SupervisorRecord = {
  kind: 'supervisor',
  id: 'host-sup-1',
  host: 'host',
  pid: 1,
  group: 'g',
  topic: 't',
  mode: 'auto',
  desired: 2,
  auto: { min: 1, max: 3 },
  workers: [
    { slot: 0, pid: 11, state: 'running', restarts: 0 },
    { slot: 1, pid: 12, state: 'running', restarts: 2 },
  ],
  lastScale: { at: at(5), from: 1, to: 2, reason: 'auto: lag 60000 >= 50000 for 15000 ms' },
  heartbeatAt: at(1),
};

const process = (id: string, pid: number, partitions: number[], extra: Partial<ProcessRecord> = {}): ProcessRecord => ({
  kind: 'process',
  id,
  host: 'host',
  pid,
  group: 'g',
  topic: 't',
  table: 'db.events',
  state: 'running',
  startedAt: at(60),
  heartbeatAt: at(1),
  partitions,
  rowsInserted: 1000,
  rowsPerSec: 100,
  deadLettered: 0,
  ...extra,
});

const actor = (proc: string, partition: number, extra: Partial<ActorRecord> = {}): ActorRecord => ({
  kind: 'actor',
  process: proc,
  topic: 't',
  partition,
  state: 'idle',
  pausedFor: [],
  committed: '100',
  endOffset: '100',
  lag: 0,
  bufferedRows: 0,
  bufferedBytes: 0,
  rowsInserted: 500,
  rowsPerSec: 50,
  restarts: 0,
  heartbeatAt: at(1),
  lastFlush: { at: at(2), rows: 120, bytes: 30_000, ms: 41 },
  ...extra,
});

describe('floodgate status rendering', () => {
  it('shows supervisors, processes, and every partition with owner, lag, last flush and errors', () => {
    const view = buildStatusView(
      [supervisor],
      [process('host-11', 11, [0]), process('host-12', 12, [1], { lastError: { at: at(3), code: 'CLICKHOUSE_UNAVAILABLE', message: 'ECONNREFUSED: connect refused' } })],
      [
        actor('host-11', 0),
        actor('host-12', 1, { state: 'retrying', pausedFor: ['retry'], bufferedRows: 42, lastError: { at: at(3), code: 'CLICKHOUSE_UNAVAILABLE', message: 'ECONNREFUSED: connect refused' } }),
      ],
      new Map([
        [
          'g\u0000t',
          [
            { partition: 0, committed: 100, end: 100, lag: 0 },
            { partition: 1, committed: 90, end: 150, lag: 60 },
            { partition: 2, committed: null, end: 7, lag: 7 },
          ],
        ],
      ]),
      [{ group: 'g', topic: 't' }],
    );
    expect(view.partitions.map((p) => [p.partition, p.owner, p.lag])).toEqual([
      [0, 'host-11', 0],
      [1, 'host-12', 60],
      [2, null, 7],
    ]);
    expect(view.processes[1]!.actors.map((a) => a.partition)).toEqual([1]);
    const text = renderStatus(view, now);
    expect(text).toContain('host-sup-1  host  1    auto 1..3  2        11:running 12:running(2 restarts)  5s ago 1->2 (auto: lag 60000 >= 50000 for 15000 ms)');
    expect(text).toContain('partitions of topic t, group g (total lag 67):');
    // Narrow: the error's code (its message with --wide), no offsets.
    expect(text).toMatch(/^PARTITION +OWNER +ACTOR +PAUSED +LAG +LAST FLUSH +ERROR +CLASS +SINCE$/m);
    expect(text).toMatch(/^1 +host-12 +retrying +retry +60 +2s ago: 120 rows, 29\.3 KiB, 41 ms +CLICKHOUSE_UNAVAILABLE \(3s ago, passed\) +- +-$/m);
    expect(text).toMatch(/^2 +- +- +- +7 +- +- +- +-$/m);
    expect(text).toMatch(/^host-12 +host +12 +running +g +t +1 +100 +1000 +0 +3s ago CLICKHOUSE_UNAVAILABLE$/m);
    const wide = renderStatus(view, now, { wide: true });
    expect(wide).toMatch(/^1 +host-12 +retrying +retry +90 +150 +60 +42 rows +2s ago: 120 rows, 29\.3 KiB, 41 ms +50 +CLICKHOUSE_UNAVAILABLE \(3s ago, passed\) +- +- +ECONNREFUSED: connect refused$/m);
    expect(wide).toMatch(/^host-12 +host +12 +running +g +t +1 +100 +1000 +0 +3s ago CLICKHOUSE_UNAVAILABLE: ECONNREFUSED: connect refused$/m);
    expect(view.health).toEqual({ ok: true, problems: [] });
  });

  it('shows a process that lost Kafka as reconnecting: since when, which attempt, when the next one starts', () => {
    const kafkaError = { at: at(2), code: 'KAFKA_UNAVAILABLE', message: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092' };
    const waiting = process('host-11', 11, [], { state: 'reconnecting', reconnecting: { since: at(40), attempts: 7, nextAttemptAt: at(-3) }, lastError: kafkaError });
    const connecting = process('host-12', 12, [], { state: 'reconnecting', reconnecting: { since: at(5), attempts: 1, nextAttemptAt: null } });
    const text = renderStatus(buildStatusView([], [waiting, connecting], [], new Map(), []), now, { wide: true });
    expect(text).toMatch(/^host-11 +host +11 +reconnecting \(since 40s ago, attempt 7, next in 3s\) +g +t +- +100 +1000 +0 +2s ago KAFKA_UNAVAILABLE: Connection error: connect ECONNREFUSED 127\.0\.0\.1:9092$/m);
    expect(text).toMatch(/^host-12 +host +12 +reconnecting \(since 5s ago, attempt 1, connecting\) +g +t +- /m);
  });

  it('says so when no process is live', () => {
    expect(renderStatus(buildStatusView([], [], [], new Map(), []), now)).toBe('no live sink processes');
  });
});

describe('floodgate status: a stuck partition', () => {
  it('leads with an alert line and marks the actor STUCK', () => {
    const stuck = {
      since: at(130),
      attempts: 37,
      step: 'insert' as const,
      code: 'CLICKHOUSE_UNAVAILABLE',
      message: '60 UNKNOWN_TABLE: Table db.events does not exist',
      needsOperator: true,
    };
    const view = buildStatusView(
      [],
      [process('host-11', 11, [0, 1])],
      [actor('host-11', 0, { state: 'retrying', pausedFor: ['retry'], stuck }), actor('host-11', 1)],
      new Map([
        [
          'g\u0000t',
          [
            { partition: 0, committed: 90, end: 150, lag: 60 },
            { partition: 1, committed: 100, end: 100, lag: 0 },
          ],
        ],
      ]),
      [{ group: 'g', topic: 't' }],
    );
    const text = renderStatus(view, now);
    expect(text.split('\n')[0]).toBe(
      'STUCK: partition 0 of t (group g, process host-11) for 2m: insert failing, 37 attempts, CLICKHOUSE_UNAVAILABLE (60 UNKNOWN_TABLE): Table db.events does not exist [never-succeeds: will not pass by itself, needs an operator]',
    );
    expect(text).toMatch(/^0 +host-11 +retrying STUCK +retry +60 +2s ago: 120 rows, 29\.3 KiB, 41 ms +CLICKHOUSE_UNAVAILABLE \(60 UNKNOWN_TABLE\) +never-succeeds +2m ago \(37 attempts\)$/m);
    expect(text).toMatch(/^1 +host-11 +idle +- +0 /m);
    expect(text.match(/STUCK/g)).toHaveLength(2);
    expect(view.partitions[0]!.error).toEqual({
      code: 'CLICKHOUSE_UNAVAILABLE',
      cause: '60 UNKNOWN_TABLE',
      class: 'never-succeeds',
      since: at(130),
      attempts: 37,
      step: 'insert',
      stuck: true,
      message: 'Table db.events does not exist',
    });
    expect(view.health).toEqual({ ok: false, problems: [`partition 0 of t (group g) stuck since ${at(130)}: CLICKHOUSE_UNAVAILABLE (60 UNKNOWN_TABLE) [never-succeeds]`] });
    expect(text).toContain(`unhealthy (exit 2):\n  partition 0 of t (group g) stuck since ${at(130)}`);
  });
});

describe('floodgate status: rows, owners, classes and pauses', () => {
  const lags = new Map([
    [
      'g\u0000t',
      [
        { partition: 0, committed: 10, end: 10, lag: 0 },
        { partition: 1, committed: 10, end: 90, lag: 80 },
      ],
    ],
  ]);

  it('lists a process (and an actor) read twice once, the newest record of it', () => {
    const older = process('host-11', 11, [0, 1], { heartbeatAt: at(2), rowsInserted: 1 });
    const newer = process('host-11', 11, [0, 1], { heartbeatAt: at(1), rowsInserted: 2 });
    const view = buildStatusView([supervisor, supervisor], [older, newer, older], [actor('host-11', 0), actor('host-11', 0), actor('host-11', 1)], lags, [{ group: 'g', topic: 't' }]);
    expect(view.supervisors).toHaveLength(1);
    expect(view.processes.map((p) => [p.id, p.rowsInserted, p.actors.map((a) => a.partition)])).toEqual([['host-11', 2, [0, 1]]]);
    expect(view.partitions.map((p) => p.owner)).toEqual(['host-11', 'host-11']);
  });

  it('fills the owner from the process record when the actor record is not in yet', () => {
    const view = buildStatusView([], [process('host-11', 11, [0, 1])], [actor('host-11', 0)], lags, [{ group: 'g', topic: 't' }]);
    expect(view.partitions.map((p) => [p.partition, p.owner, p.actor === null])).toEqual([
      [0, 'host-11', false],
      [1, 'host-11', true],
    ]);
  });

  it('classes a retrying failure that is not stuck as will-retry, healthy; a never-succeeds one as unhealthy at once', () => {
    const failing = (needsOperator: boolean): StuckInfo => ({ since: at(4), attempts: 3, step: 'insert', code: 'CLICKHOUSE_UNAVAILABLE', cause: 'ECONNREFUSED', message: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:8123', needsOperator });
    const retrying = buildStatusView([], [process('host-11', 11, [0, 1])], [actor('host-11', 0), actor('host-11', 1, { state: 'retrying', pausedFor: ['retry'], failing: failing(false) })], lags, [{ group: 'g', topic: 't' }]);
    expect(retrying.partitions[1]!.error).toMatchObject({ code: 'CLICKHOUSE_UNAVAILABLE', cause: 'ECONNREFUSED', class: 'will-retry', stuck: false, since: at(4), message: 'connect ECONNREFUSED 127.0.0.1:8123' });
    expect(retrying.health.ok).toBe(true);
    expect(renderStatus(retrying, now)).toMatch(/^1 +host-11 +retrying +retry +80 +.* +CLICKHOUSE_UNAVAILABLE \(ECONNREFUSED\) +will-retry +4s ago \(3 attempts\)$/m);
    const wedged = buildStatusView([], [process('host-11', 11, [0, 1])], [actor('host-11', 0), actor('host-11', 1, { state: 'retrying', failing: failing(true) })], lags, [{ group: 'g', topic: 't' }]);
    expect(wedged.health).toEqual({ ok: false, problems: [`partition 1 of t (group g) failing since ${at(4)}: CLICKHOUSE_UNAVAILABLE (ECONNREFUSED) [never-succeeds]`] });
  });

  it('says why a partition is paused', () => {
    const why = 'backpressure: 70000 bytes fetched and not yet inserted, bound 65536 (SINK_MAX_BUFFERED_BYTES); resumes as inserts catch up';
    const view = buildStatusView([], [process('host-11', 11, [0, 1])], [actor('host-11', 0), actor('host-11', 1, { pausedFor: ['backpressure'], pausedWhy: [why] })], lags, [{ group: 'g', topic: 't' }]);
    expect(view.partitions[1]!.paused).toEqual([why]);
    expect(renderStatus(view, now)).toContain(`partition 1 paused: ${why}`);
  });
});
