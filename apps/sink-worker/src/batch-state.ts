/**
 * Deterministic batch boundaries (docs/sink.md, "Exactly once"). Before a batch is inserted its
 * boundary (first and last offset, and the first message's timestamp) is written to the JetStream
 * KV bucket; after the insert it is marked inserted, then the offset is committed. Whoever owns
 * the partition next reads that record and either re-forms the very same batch (same rows, same
 * deduplication token, so ClickHouse drops a repeat) or skips it. Pure; unit-tested.
 */
export interface BatchBoundary {
  first: number;
  last: number;
  /** Kafka timestamp of the message at `first`: tells a stale record (topic re-created) apart. */
  firstTimestamp: string;
  rows: number;
}

export interface BatchRecord {
  v: 1;
  /** Process and actor incarnation that last claimed or wrote this partition. */
  owner: string;
  claimedAt: string;
  batch?: BatchBoundary & { state: 'pending' | 'inserted'; at: string };
  /**
   * Set when the record had been lost (its bucket deleted): rows of the partition up to this
   * offset may be in the table already, inserted by an owner whose record is gone. Whoever reads
   * below it skips the rows the table holds (docs/sink.md, "Losing the batch records").
   */
  landedThrough?: number;
}

export type StartPlan =
  /** Nothing to re-form: read from `from` and batch as usual. */
  | { kind: 'fresh'; from: number }
  /** A batch was written but maybe not inserted: read from its first offset and re-form it exactly. */
  | { kind: 'reform'; from: number; batch: BatchBoundary }
  /** A batch was inserted but maybe not committed: check it, commit past it, read on after it. */
  | { kind: 'skip'; from: number; batch: BatchBoundary };

/**
 * Where a new owner starts. `committed` is the group's committed offset (null when none), `low`
 * and `high` the partition's earliest and next offsets. A recorded batch that ends before the
 * committed offset was committed already. One that does not is re-formed (pending) or skipped
 * (inserted), which also makes a replay (offsets reset to an earlier point) skip what was already
 * inserted. A committed offset or a record beyond the end of the log belongs to an older log (the
 * topic was deleted and re-created) and is ignored.
 */
export function planStart(record: BatchRecord | undefined, committed: number | null, low: number, high: number = Number.POSITIVE_INFINITY): StartPlan {
  const valid = committed !== null && committed >= low && committed <= high ? committed : null;
  const from = valid ?? low;
  const batch = record?.batch;
  if (!batch || batch.last < from || batch.first >= high) return { kind: 'fresh', from };
  const boundary: BatchBoundary = { first: batch.first, last: batch.last, firstTimestamp: batch.firstTimestamp, rows: batch.rows };
  // Retention may have removed the start of the batch: read from what is left of it.
  const start = Math.max(batch.first, low);
  return batch.state === 'pending' ? { kind: 'reform', from: start, batch: boundary } : { kind: 'skip', from: start, batch: boundary };
}

/**
 * What is wrong with a recorded batch on its face, before anything is read (docs/security.md,
 * "Forged batch records"): a range, row count, timestamp or state no sink writes, or a batch that
 * straddles the committed offset (a batch always starts at the committed offset, so a record that
 * starts before it and ends after it would have the sink skip what lies between). Undefined: none.
 * The bucket is written by other processes, so nothing in it is taken on trust. Pure.
 */
export function recordProblem(batch: BatchRecord['batch'], committed: number | null, low: number, high: number): string | undefined {
  if (batch === undefined) return undefined;
  const offset = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!offset(batch.first) || !offset(batch.last) || batch.last < batch.first) return `its offsets ${String(batch.first)}..${String(batch.last)} are no range`;
  if (!offset(batch.rows) || batch.rows < 1 || batch.rows > batch.last - batch.first + 1) {
    return `${String(batch.rows)} rows do not fit in offsets ${batch.first}..${batch.last}`;
  }
  if (typeof batch.firstTimestamp !== 'string' || !/^\d{1,16}$/.test(batch.firstTimestamp)) return `its first timestamp ${JSON.stringify(batch.firstTimestamp)} is no Kafka timestamp`;
  if (batch.state !== 'pending' && batch.state !== 'inserted') return `its state ${JSON.stringify(batch.state)} is unknown`;
  const valid = committed !== null && committed >= low && committed <= high ? committed : null;
  if (valid !== null && batch.first < valid && batch.last >= valid) {
    return `offsets ${batch.first}..${batch.last} straddle the committed offset ${valid} (a batch starts at the committed offset)`;
  }
  return undefined;
}

/**
 * Checks a reform/skip plan against the first message read after seeking to `batch.first`.
 * `valid`: it is the recorded message (or retention removed it, the first offset read is later).
 * `stale`: the log restarted below the record (the topic was deleted and re-created), so the record
 * is about another log and must be ignored.
 */
export function verifyFirstMessage(batch: BatchBoundary, offset: number, timestamp: string): 'valid' | 'stale' {
  if (offset < batch.first) return 'stale';
  if (offset === batch.first) return timestamp === batch.firstTimestamp ? 'valid' : 'stale';
  return 'valid';
}

/**
 * The insert deduplication token of a batch: the same Kafka range always yields the same token.
 * The first message's timestamp is part of it so a re-created topic (offsets from 0 again) never
 * collides with tokens of the old one still in ClickHouse's deduplication window.
 */
export function dedupToken(topic: string, partition: number, batch: Pick<BatchBoundary, 'first' | 'last' | 'firstTimestamp'>): string {
  return `${topic}:${partition}:${batch.first}-${batch.last}:${batch.firstTimestamp}`;
}

/** Token of a part of a batch split to isolate a rejected row: deterministic too. */
export function partToken(batchToken: string, first: number, last: number): string {
  return `${batchToken}/${first}-${last}`;
}
