import type { ActorRecord, ProcessRecord, SupervisorRecord } from './control-plane.ts';

/**
 * The document `floodgate status --json` prints (built by apps/cli/src/sink/format.ts from the
 * members bucket and Kafka's offsets): what scripts and tests read.
 */

/** will-retry: the sink keeps retrying and it may pass by itself; never-succeeds: someone must act (a missing table, credentials). */
export type ErrorClass = 'will-retry' | 'never-succeeds';

/** The failure a partition's current batch is stuck on (or failing with): full code, class, since when. */
export interface PartitionError {
  /** The sink's code (docs/errors.md), e.g. `CLICKHOUSE_UNAVAILABLE`. */
  code: string;
  /** The underlying error's code, e.g. `60 UNKNOWN_TABLE`, when known. */
  cause: string | null;
  class: ErrorClass;
  /** First failure of this batch (ISO-8601). */
  since: string;
  attempts: number;
  step: string;
  stuck: boolean;
  message: string;
}

export interface PartitionView {
  group: string;
  topic: string;
  partition: number;
  owner: string | null;
  actor: ActorRecord | null;
  committed: number | null;
  end: number;
  lag: number;
  /** Why fetching is paused, one line per reason ([] when it is not). */
  paused: string[];
  error: PartitionError | null;
}

export interface Health {
  /** False while a partition is stuck or failing with a never-succeeds error: `floodgate status` exits 2. */
  ok: boolean;
  problems: string[];
}

export interface StatusView {
  health: Health;
  /** The freshness canary's last measurement per gateway; null when it could not be read. */
  freshness?: Array<{ gateway: string; seconds: number; landedAt: string }> | null;
  supervisors: SupervisorRecord[];
  processes: Array<ProcessRecord & { actors: ActorRecord[] }>;
  partitions: PartitionView[];
}
