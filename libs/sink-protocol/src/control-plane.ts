import { keyToken } from '@floodgate/nats';

/**
 * The sink's control plane over NATS: names of its buckets and subjects, and the shapes of what it
 * writes there. Shared by the sink processes, their supervisor and the `floodgate` CLI. Documented
 * in docs/sink.md ("Control plane").
 */
export interface SinkControlPlane {
  /** KV bucket with a bucket-wide TTL: every live process, actor and supervisor, refreshed by heartbeat. */
  membersBucket: string;
  /** KV bucket without TTL: the batch boundary of every (group, topic, partition). */
  batchesBucket: string;
  /** Request/reply subject of one sink process. */
  processSubject(processId: string): string;
  /** Request/reply subject of one supervisor. */
  supervisorSubject(supervisorId: string): string;
}

export function sinkControlPlane(prefix: string): SinkControlPlane {
  return {
    membersBucket: `${prefix}_sink_members`,
    batchesBucket: `${prefix}_sink_batches`,
    processSubject: (id) => `${prefix}.sink.process.${keyToken(id)}`,
    supervisorSubject: (id) => `${prefix}.sink.supervisor.${keyToken(id)}`,
  };
}

/** Keys of the members bucket. */
export const memberKeys = {
  process: (processId: string) => `p.${keyToken(processId)}`,
  actor: (processId: string, partition: number) => `a.${keyToken(processId)}.${partition}`,
  actorsOf: (processId: string) => `a.${keyToken(processId)}.>`,
  supervisor: (supervisorId: string) => `s.${keyToken(supervisorId)}`,
};

/** Key of the batch state of one partition, per consumer group (each group has its own batches). */
export function batchKey(group: string, topic: string, partition: number): string {
  return `${keyToken(group)}.${keyToken(topic)}.${partition}`;
}

export interface ErrorInfo {
  /** ISO time. */
  at: string;
  code: string;
  message: string;
}

export interface FlushInfo {
  at: string;
  rows: number;
  bytes: number;
  /** Insert time, retries included. */
  ms: number;
}

/** `reconnecting`: Kafka is away and the process is making a new consumer, with backoff, until it joins. */
export type ProcessState = 'starting' | 'running' | 'paused' | 'draining' | 'reconnecting';

export interface ProcessRecord {
  kind: 'process';
  id: string;
  host: string;
  pid: number;
  group: string;
  topic: string;
  table: string;
  /** Set when a supervisor runs this process. */
  supervisor?: string;
  state: ProcessState;
  startedAt: string;
  heartbeatAt: string;
  partitions: number[];
  rowsInserted: number;
  rowsPerSec: number;
  deadLettered: number;
  adminPort?: number;
  lastError?: ErrorInfo;
  /** Set while state is `reconnecting`. */
  reconnecting?: ReconnectInfo;
}

export interface ReconnectInfo {
  /** ISO time the consumer was lost. */
  since: string;
  /** Consumers that failed since then (the crashed one included). */
  attempts: number;
  /** When the next consumer is made (ISO), or null while one is connecting. */
  nextAttemptAt: string | null;
}

export type ActorState = 'starting' | 'idle' | 'buffering' | 'inserting' | 'retrying' | 'draining' | 'stopped';

/** The step of a partition's work that is failing: starting up, or one step of the current batch. */
export type FailingStep = 'start' | 'insert' | 'dead-letter' | 'batch-state' | 'commit';

/**
 * A partition whose current batch (or start-up) has kept failing past the bound
 * (`SINK_STUCK_AFTER_MS` or `SINK_STUCK_AFTER_ATTEMPTS`): alert-worthy. Cleared when the batch
 * commits.
 */
export interface StuckInfo {
  /** When the first failure of this batch happened (ISO). */
  since: string;
  /** Failed attempts so far, of any step of the batch. */
  attempts: number;
  /** The step of the last failure. */
  step: FailingStep;
  /** Code of the last failure (docs/errors.md), e.g. `CLICKHOUSE_UNAVAILABLE`, `SINK_DLQ_UNAVAILABLE`. */
  code: string;
  /** The underlying error's own code when `code` is a class of failures, e.g. `60 UNKNOWN_TABLE` under `CLICKHOUSE_UNAVAILABLE`. */
  cause?: string;
  message: string;
  /** The last failure will not pass by itself (a missing table or dead-letter topic, credentials): someone must act. */
  needsOperator: boolean;
}

export interface ActorRecord {
  kind: 'actor';
  process: string;
  topic: string;
  partition: number;
  state: ActorState;
  /** Why fetching is paused: `operator`, `retry` (ClickHouse failing), `backpressure`, `draining`. */
  pausedFor: string[];
  /** Next offset to read per the group's committed offset. */
  committed: string | null;
  /** End of the partition (next offset to be written), as last seen. */
  endOffset: string | null;
  lag: number | null;
  bufferedRows: number;
  bufferedBytes: number;
  rowsInserted: number;
  rowsPerSec: number;
  lastFlush?: FlushInfo;
  lastError?: ErrorInfo;
  /** Set while the partition is stuck: its batch has been failing past the bound. */
  stuck?: StuckInfo;
  /** Set while the current batch (or start-up) is failing, stuck or not yet: since when, the class. */
  failing?: StuckInfo;
  /** Why fetching is paused, one readable line per reason of `pausedFor` (e.g. the back-pressure bound). */
  pausedWhy?: string[];
  restarts: number;
  heartbeatAt: string;
}

export interface SupervisorWorker {
  slot: number;
  pid: number | null;
  state: 'starting' | 'running' | 'stopping' | 'restarting';
  restarts: number;
}

export interface SupervisorRecord {
  kind: 'supervisor';
  id: string;
  host: string;
  pid: number;
  group: string;
  topic: string;
  mode: 'fixed' | 'auto';
  desired: number;
  auto?: { min: number; max: number };
  workers: SupervisorWorker[];
  lastScale?: { at: string; from: number; to: number; reason: string };
  adminPort?: number;
  heartbeatAt: string;
}

export type MemberRecord = ProcessRecord | ActorRecord | SupervisorRecord;

/** Requests a sink process answers on its subject. */
export type SinkCommand = { cmd: 'flush' } | { cmd: 'pause' } | { cmd: 'resume' } | { cmd: 'drain' } | { cmd: 'ping' };

export interface SinkCommandResult {
  process: string;
  cmd: SinkCommand['cmd'];
  /** Per partition: rows flushed by this command (flush, drain). */
  flushed?: Array<{ partition: number; rows: number; committed: string | null }>;
  partitions: number[];
  state: ProcessState;
}

/** Requests a supervisor answers on its subject. */
export type SupervisorCommand =
  | { cmd: 'scale'; processes: number }
  | { cmd: 'auto'; min: number; max: number }
  | { cmd: 'ping' };

export interface SupervisorCommandResult {
  supervisor: string;
  mode: 'fixed' | 'auto';
  desired: number;
  previous: number;
  auto?: { min: number; max: number };
}
