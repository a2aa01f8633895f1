import { randomBytes } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import { backoffDelay, sleep, type ActorContext, type ActorFactory, type BackoffOptions, type Behavior } from '@floodgate/actors';
import { FloodgateError, isFloodgateError, isRetriable, retry, type RetryOptions } from '@floodgate/errors';
import type { PartitionOffsets } from '@floodgate/kafka';
import type { Logger } from '@floodgate/logging';
import { isRevisionConflict, type JsonBucket } from '@floodgate/nats';
import { type ActorState, type ErrorInfo, type FailingStep, type FlushInfo } from '@floodgate/sink-protocol';
import { dedupToken, planStart, recordProblem, verifyFirstMessage, type BatchBoundary, type BatchRecord, type StartPlan } from './batch-state.ts';
import { classifyInsertError } from './clickhouse-errors.ts';
import type { Insert, LandedRows } from './clickhouse.ts';
import { deadLetterNeedsOperator, type DeadLetter } from './dead-letter.ts';
import { batchSize, flushDue, msUntilDue, type FlushLimits, type FlushReason } from './flush-policy.ts';
import { insertIsolating, type AttemptResult } from './isolate.ts';
import type { SinkMetrics } from './metrics.ts';
import { RateMeter } from './rate.ts';
import { encodeRow, insertBody, unreadableRow, type BufferedRow } from './rows.ts';
import { addFailure, stuckState, type Failing, type StuckBounds } from './stuck.ts';
import { SinkBatchTrace, type SinkTraceInfo } from './tracing.ts';

/** Why fetching of a partition is paused; it is paused while any reason holds. */
export type PauseReason = 'starting' | 'operator' | 'retry' | 'backpressure' | 'draining' | 'lost' | 'refused';

/**
 * The link between a partition actor and the process's Kafka consumer: pause/resume with reasons,
 * seeks, back-pressure (back-pressure.ts), and the epoch that tells current deliveries from stale
 * ones (fetched before a seek).
 */
export interface PartitionGate {
  readonly topic: string;
  readonly partition: number;
  /** Bumped by each actor incarnation; deliveries carry the epoch they were fetched under. */
  epoch: number;
  /** False while an incarnation starts up: the consumer then hands it nothing. */
  accepting: boolean;
  /** The actor took records of `bytes`, fetched under `epoch`, out of its mailbox; its buffer now holds `bufferedBytes`. */
  taken(epoch: number, bytes: number, bufferedBytes: number): void;
  /** The actor's buffer now holds `bytes`. */
  buffered(bytes: number): void;
  /**
   * A seek bumped the epoch: what is queued was fetched before it and will be dropped unread (its
   * `taken` comes with the old epoch), so it stops counting now.
   */
  discardQueued(): void;
  /**
   * A new incarnation starts: nothing counts as queued or buffered, and the previous incarnation's
   * `retry` and `backpressure` pauses are lifted (nothing else would ever lift them).
   */
  restart(): void;
  pause(reason: PauseReason): void;
  resume(reason: PauseReason): void;
  pausedFor(): PauseReason[];
  seek(offset: number): void;
}

/** What the heartbeat reads of a partition; written by its actor only. */
export interface PartitionStatus {
  state: ActorState;
  bufferedRows: number;
  bufferedBytes: number;
  committed: number | null;
  endOffset: number | null;
  rowsInserted: number;
  deadLettered: number;
  rate: RateMeter;
  restarts: number;
  lastFlush?: FlushInfo;
  lastError?: ErrorInfo;
  /** Failures of the current batch (or start-up) since the partition last made progress. */
  failing?: Failing;
}

export function newPartitionStatus(): PartitionStatus {
  return { state: 'starting', bufferedRows: 0, bufferedBytes: 0, committed: null, endOffset: null, rowsInserted: 0, deadLettered: 0, rate: new RateMeter(), restarts: 0 };
}

export interface FlushOutcome {
  partition: number;
  rows: number;
  committed: number | null;
}

export type PartitionMessage =
  | { type: 'records'; epoch: number; messages: KafkaMessage[]; highWatermark: string; bytes: number }
  | { type: 'tick' }
  | { type: 'flush'; reply: (outcome: FlushOutcome) => void; fail: (error: unknown) => void }
  | { type: 'drain'; reply: (outcome: FlushOutcome) => void; fail: (error: unknown) => void };

export type { PartitionOffsets };

export interface PartitionActorDeps {
  topic: string;
  partition: number;
  /** This process; with the incarnation and a nonce it names the owner in the batch record. */
  processId: string;
  limits: FlushLimits;
  retry: BackoffOptions;
  gate: PartitionGate;
  batches: JsonBucket<BatchRecord>;
  batchKey: string;
  offsets(): Promise<PartitionOffsets>;
  insert: Insert;
  /** What the table holds of the partition, read only after its batch record was lost. */
  landed: LandedRows;
  deadLetter(letters: readonly DeadLetter[]): Promise<void>;
  commit(offset: number): Promise<void>;
  metrics: SinkMetrics;
  logger: Logger;
  status: PartitionStatus;
  /** When a failing batch counts as stuck. */
  stuck: StuckBounds;
  /** Process-wide totals, kept across rebalances. */
  onFlushed?: (inserted: number, deadLettered: number) => void;
  /** Names on the spans of a batch with sampled events (tracing.ts). */
  traceInfo?: SinkTraceInfo;
  now?: () => number;
}

/** The batch record changed under us: another owner claimed the partition. */
export class PartitionLostError extends FloodgateError {
  constructor(topic: string, partition: number, why: string) {
    super('SINK_PARTITION_LOST', `partition ${topic}/${partition} is no longer ours: ${why}`, { context: { topic, partition } });
  }
}

/**
 * The partition's batch record vanished under its owner (its key or the whole bucket was deleted,
 * or NATS lost its storage). The actor restarts: the new incarnation claims a new record and starts
 * from Kafka's committed offset, skipping the rows the table already holds.
 */
export class BatchStateLostError extends FloodgateError {
  constructor(topic: string, partition: number, why: string) {
    super('SINK_BATCH_STATE_LOST', `the batch record of ${topic}/${partition} was lost: ${why}`, { retriable: true, context: { topic, partition } });
  }
}

/** Kafka answers that mean this member's generation is over: the partition is being reassigned. */
const LOST_GENERATION = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);

function errorInfo(code: string, error: unknown): ErrorInfo {
  const message = error instanceof Error ? error.message : String(error);
  return { at: new Date().toISOString(), code, message: message.slice(0, 500) };
}

/**
 * Settles with `operation`, or rejects with the signal's reason as soon as the actor is told to
 * stop: no wait of an actor outlives its stop (an operation that hangs, or retries without end in a
 * client, is abandoned; nothing is committed after it, so the next owner redoes it).
 */
function untilStopped<T>(operation: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    operation.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * One Kafka partition's actor (docs/sink.md, "Batching" and "Exactly once"). It buffers the
 * partition's events, cuts batches by rows / bytes / age, and for each batch: writes its boundary
 * to the batch bucket (compare-and-set, so a newer owner fences it), inserts it with a token
 * derived from the boundary (retrying with backoff while ClickHouse fails, fetching paused), sends
 * rows ClickHouse rejects to the dead-letter topic, marks the batch inserted, and only then commits
 * the offset. A new incarnation (restart, new owner) starts from the recorded boundary, so the
 * same batches are formed again and ClickHouse drops the repeats.
 */
export function partitionActor(deps: PartitionActorDeps): ActorFactory<PartitionMessage> {
  return (ctx: ActorContext<PartitionMessage>): Behavior<PartitionMessage> => new PartitionBehavior(deps, ctx);
}

class PartitionBehavior implements Behavior<PartitionMessage> {
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly owner: string;
  private readonly labels: { topic: string };
  private epoch = -1;
  private buffer: BufferedRow[] = [];
  private bufferedBytes = 0;
  private nextOffset = 0;
  private plan: StartPlan = { kind: 'fresh', from: 0 };
  private verifying = false;
  /** A recorded batch being re-formed: flushed exactly at its last offset, whatever the policy says. */
  private forced: BatchBoundary | undefined;
  private record: BatchRecord = { v: 1, owner: '', claimedAt: '' };
  /** Where reading starts when there is no usable record: the committed offset, else the log's start. */
  private freshFrom = 0;
  /** After a lost record: up to this offset, rows the table holds already are skipped. */
  private landedThrough: number | undefined;
  /** The last offset skipped that way; committed once nothing buffered comes before it. */
  private skippedThrough: number | undefined;
  private revision = 0;
  private timer: NodeJS.Timeout | undefined;
  private draining = false;
  /**
   * Set when the table contradicts the recorded batch: the record may then only be an older log's
   * (the first message shows it); if it is this log's, it is refused. Says what the table contradicts.
   */
  private contradiction: string | undefined;
  /** The partition's end offset at start: a batch of this log ends before it. */
  private startHigh = Number.POSITIVE_INFINITY;
  /** landedThrough before a skip plan extended it (restored when the record turns out stale). */
  private landedBeforeSkip: number | undefined;
  private skipByTable = false;
  /** What the actor is doing, for the failures it notes (status `stuck.step`). */
  private phase: FailingStep = 'start';
  private stuckLogged = false;

  constructor(
    private readonly deps: PartitionActorDeps,
    private readonly ctx: ActorContext<PartitionMessage>,
  ) {
    this.now = deps.now ?? Date.now;
    this.owner = `${deps.processId}/${ctx.incarnation}/${randomBytes(3).toString('hex')}`;
    this.log = deps.logger.child({ topic: deps.topic, partition: deps.partition, incarnation: ctx.incarnation });
    this.labels = { topic: deps.topic };
  }

  async started(): Promise<void> {
    const { gate, status } = this.deps;
    gate.accepting = false;
    gate.pause('starting');
    this.epoch = ++gate.epoch;
    gate.restart();
    this.phase = 'start';
    status.state = 'starting';
    status.restarts = this.ctx.incarnation;
    status.bufferedRows = 0;
    status.bufferedBytes = 0;
    if (this.ctx.incarnation > 0) this.deps.metrics.actorRestarts.inc(this.labels);

    // Pauses for retries belong to the incarnation that failed; 'starting' holds fetching until the seek.
    gate.resume('retry');
    gate.resume('backpressure');
    gate.resume('refused');

    const offsets = await this.retrying('read partition offsets', 'KAFKA_UNAVAILABLE', () => this.deps.offsets());
    status.committed = offsets.committed;
    status.endOffset = offsets.high;
    await this.claim();
    this.freshFrom = planStart(undefined, offsets.committed, offsets.low, offsets.high).from;
    this.plan = planStart(this.record, offsets.committed, offsets.low, offsets.high);
    // The record comes from a bucket others can write: it is checked before it decides anything.
    const problem = recordProblem(this.record.batch, offsets.committed, offsets.low, offsets.high);
    if (problem) await this.refuseRecord(problem, offsets.committed);
    this.startHigh = offsets.high;
    this.contradiction = await this.tableContradiction(this.plan);
    const landedThrough = this.record.landedThrough;
    if (landedThrough !== undefined && landedThrough >= this.plan.from) {
      this.landedThrough = landedThrough;
    } else if (!this.record.batch && offsets.committed !== null) {
      // The group committed, so a record with a batch existed (the first batch's start is
      // committed before it is recorded): it was lost, and the batch it named may be in the table.
      await this.findLanded(this.plan.from);
    }
    if (this.plan.kind === 'skip') {
      // Rows of a batch recorded as inserted are skipped only where the table holds them (offset
      // and event id), never on the record's word alone.
      this.landedBeforeSkip = this.landedThrough;
      this.landedThrough = Math.max(this.landedThrough ?? -1, this.plan.batch.last);
      this.skipByTable = true;
    }
    this.nextOffset = this.plan.from;
    this.verifying = this.plan.kind !== 'fresh';
    gate.seek(this.plan.from);
    gate.accepting = true;
    gate.resume('starting');
    status.state = 'idle';
    if (status.failing?.step === 'start') this.progressed();
    this.log.info({ plan: this.plan, committed: offsets.committed, low: offsets.low, high: offsets.high }, 'partition actor started');
  }

  async receive(message: PartitionMessage): Promise<void> {
    try {
      switch (message.type) {
        case 'records':
          return await this.onRecords(message);
        case 'tick':
          this.timer = undefined;
          await this.flushWhileDue('policy');
          return this.afterChange();
        case 'flush': {
          const rows = await this.flushWhileDue('command');
          this.afterChange();
          return message.reply({ partition: this.deps.partition, rows, committed: this.deps.status.committed });
        }
        case 'drain': {
          this.draining = true;
          this.deps.gate.pause('draining');
          this.deps.status.state = 'draining';
          const rows = await this.flushWhileDue('drain');
          return message.reply({ partition: this.deps.partition, rows, committed: this.deps.status.committed });
        }
      }
    } catch (error) {
      if ('fail' in message) message.fail(error);
      if (error instanceof PartitionLostError) {
        this.log.warn({ err: error }, 'partition lost to another owner; stopping without committing');
        this.deps.status.lastError = errorInfo(error.code, error);
        this.deps.gate.pause('lost');
        void this.ctx.self.stop();
        return;
      }
      if (this.ctx.signal.aborted) return;
      this.deps.status.lastError = errorInfo(isFloodgateError(error) ? error.code : 'INTERNAL', error);
      throw error;
    }
  }

  stopped(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.deps.gate.epoch === this.epoch) this.deps.gate.accepting = false;
    this.deps.status.state = 'stopped';
  }

  // --- records and batching -------------------------------------------------------------------

  private async onRecords(message: Extract<PartitionMessage, { type: 'records' }>): Promise<void> {
    const { gate, status, partition } = this.deps;
    if (message.epoch !== this.epoch || this.draining) {
      // Fetched for an earlier incarnation, before its seek; or draining: not buffered, not
      // committed, the next owner reads them.
      gate.taken(message.epoch, message.bytes, this.bufferedBytes);
      return;
    }
    const high = Number(message.highWatermark);
    if (Number.isFinite(high)) status.endOffset = high;
    const landed = this.landedThrough === undefined ? undefined : await this.landedIds(message.messages);
    const arrivedAt = this.now();
    let received = 0;
    for (const m of message.messages) {
      const offset = Number(m.offset);
      if (offset < this.nextOffset) continue; // a repeat from an overlapping fetch
      if (this.verifying) {
        this.verifying = false;
        const check = this.checkPlan(offset, m.timestamp);
        if (check === 'reseek') {
          // This delivery is from the wrong place: dropped unread, its bytes no longer queued.
          gate.buffered(this.bufferedBytes);
          return this.afterChange();
        }
        if (check !== 'ok') {
          gate.taken(message.epoch, message.bytes, this.bufferedBytes);
          return this.refuseRecord(check.refuse, status.committed, { offset, timestamp: m.timestamp });
        }
      }
      this.nextOffset = offset + 1;
      const ids = landed?.get(offset);
      if (ids !== undefined && ids.has(eventIdOf(m) ?? '')) {
        this.skippedThrough = offset; // in the table already: inserted by an owner whose record was lost
        continue;
      }
      received++;
      const encoded = encodeRow(m, partition, arrivedAt);
      const row = encoded.ok ? encoded.row : unreadableRow(m, encoded.reason, arrivedAt);
      this.buffer.push(row);
      this.bufferedBytes += row.bytes;
    }
    if (this.landedThrough !== undefined && this.nextOffset > this.landedThrough) this.landedThrough = undefined;
    if (received > 0) {
      this.deps.metrics.rowsReceived.inc(this.labels, received);
      this.deps.metrics.events.received.inc({ component: 'sink' }, received);
    }
    gate.taken(message.epoch, message.bytes, this.bufferedBytes);
    await this.flushWhileDue('policy');
    await this.commitSkipped();
    this.afterChange();
  }

  /**
   * The first message after the start seek decides whether the recorded batch is this log's. A
   * stale record (the topic was deleted and re-created) says nothing about this log: reading starts
   * over where it would without a record (the committed offset, else the log's start), never at the
   * stale record's offset, which would skip the new log's first events. `reseek`: the delivery at
   * hand is from the wrong place. `refuse`: the record is this log's but contradicts the table or the log.
   */
  private checkPlan(offset: number, timestamp: string): 'ok' | 'reseek' | { refuse: string } {
    const plan = this.plan;
    if (plan.kind === 'fresh') return 'ok';
    if (verifyFirstMessage(plan.batch, offset, timestamp) === 'stale') {
      this.log.warn(
        { recorded: plan.batch, offset, timestamp, from: this.freshFrom },
        'the recorded batch belongs to an older log (topic re-created?); ignoring it',
      );
      this.plan = { kind: 'fresh', from: this.freshFrom };
      if (this.skipByTable) this.landedThrough = this.landedBeforeSkip;
      this.skipByTable = false;
      if (offset === this.freshFrom) return 'ok';
      this.seekTo(this.freshFrom);
      return 'reseek';
    }
    // The record is this log's: it must agree with the table and lie inside the log.
    if (this.contradiction) return { refuse: this.contradiction };
    if (plan.batch.last >= this.startHigh) return { refuse: `its offsets ${plan.batch.first}..${plan.batch.last} run past the end of the log (${this.startHigh})` };
    if (plan.kind === 'reform') {
      this.forced = plan.batch;
      this.log.info({ batch: plan.batch }, 're-forming the recorded batch');
      return 'ok';
    }
    // Its rows are skipped where the table holds them (landedThrough, set at start) and committed past.
    this.log.info({ batch: plan.batch }, 'recorded batch was inserted; committing past it');
    return 'ok';
  }

  // --- batch records that are refused ------------------------------------------------------------

  /**
   * What the table says against a reform/skip plan, checked before anything is read: a record that
   * starts past the committed offset is believed only if the table holds the partition up to its
   * start (a replay, or rows skipped after a lost record); one recorded as inserted only if the
   * table holds some of its rows. Undefined: nothing against it.
   */
  private async tableContradiction(plan: StartPlan): Promise<string | undefined> {
    if (plan.kind === 'fresh') return undefined;
    const { landed, partition } = this.deps;
    const { first, last } = plan.batch;
    if (first > this.freshFrom) {
      const highest = await this.retrying('read the rows the table holds of the partition', 'CLICKHOUSE_UNAVAILABLE', () =>
        landed.highest(partition, this.freshFrom, this.ctx.signal),
      );
      if (highest === null || highest < first - 1) {
        return `it starts at offset ${first}, past the committed offset ${this.freshFrom}, but the table holds the partition only through ${highest ?? 'nothing from there'}: offsets ${this.freshFrom}..${first - 1} would be skipped`;
      }
    }
    if (plan.kind === 'skip') {
      const ids = await this.retrying('read the rows the table holds of the partition', 'CLICKHOUSE_UNAVAILABLE', () =>
        landed.ids(partition, first, last, this.ctx.signal),
      );
      if (ids.size === 0) return `it says offsets ${first}..${last} were inserted, but the table holds none of them`;
    }
    return undefined;
  }

  /**
   * Refuses the partition's batch record (docs/security.md, "Forged batch records"): says so loudly
   * (an error log with the record, SINK_BATCH_RECORD_INVALID in status, failing then stuck, the
   * refused-records metric), reads, inserts and skips nothing, and waits, without taking the
   * process down, until an operator deleted or rewrote the record; then the actor starts over.
   */
  private async refuseRecord(reason: string, committed: number | null, seen?: { offset: number; timestamp: string }): Promise<never> {
    const { topic, partition, batches, batchKey, metrics, status, gate } = this.deps;
    const recorded = this.record.batch;
    const error = new FloodgateError(
      'SINK_BATCH_RECORD_INVALID',
      `the batch record of ${topic}/${partition} is refused: ${reason}. Nothing of the partition is read, inserted or skipped until an operator deletes it: floodgate sink forget-batch-record --partition ${partition}`,
      { context: { topic, partition, committed, recorded, ...(seen ? { seen } : {}) } },
    );
    this.phase = 'start';
    gate.pause('refused');
    status.state = 'retrying';
    status.lastError = errorInfo(error.code, error);
    metrics.batchRecordsRefused.inc(this.labels);
    this.log.error({ code: error.code, reason, committed, recorded, seen, owner: this.record.owner }, error.message);
    for (let attempt = 0; ; attempt++) {
      this.noteFailure(error.code, error, true);
      await sleep(backoffDelay(this.deps.retry, Math.min(attempt, 5)), this.ctx.signal);
      let current;
      try {
        current = await batches.get(batchKey);
      } catch (readError) {
        this.log.warn({ err: readError }, 'cannot read the refused batch record from NATS; waiting');
        continue;
      }
      if (!current || current.revision !== this.revision) break;
    }
    this.log.warn({ code: error.code }, 'the refused batch record was deleted or rewritten; the partition actor starts over');
    throw new FloodgateError('SINK_BATCH_RECORD_CHANGED', `the refused batch record of ${topic}/${partition} changed; the partition actor starts over`, {
      retriable: true,
      context: { topic, partition },
    });
  }

  /** Reads from `offset` again; deliveries fetched before (an older epoch) are dropped. */
  private seekTo(offset: number): void {
    const { gate } = this.deps;
    this.epoch = ++gate.epoch;
    gate.discardQueued();
    this.nextOffset = offset;
    gate.seek(offset);
  }

  // --- after a lost batch record ----------------------------------------------------------------

  /**
   * The record is gone but the group committed: the batch after the committed offset may have been
   * inserted by an owner that never committed it, and nothing says where it ended. The table does:
   * its rows carry their Kafka partition and offset. Rows of the partition at or after `from` that
   * it holds are skipped (matched by offset and event id) instead of inserted twice; the record
   * keeps how far that goes, so an owner that takes over mid-way does the same.
   */
  private async findLanded(from: number): Promise<void> {
    const { landed, partition } = this.deps;
    const highest = await this.retrying('read the rows the table holds of the partition', 'CLICKHOUSE_UNAVAILABLE', () =>
      landed.highest(partition, from, this.ctx.signal),
    );
    if (highest === null) {
      this.log.info({ from }, 'no batch record for a partition the group has committed; the table holds nothing of it past the committed offset');
      return;
    }
    this.landedThrough = highest;
    await this.writeRecord({ ...this.record, owner: this.owner, landedThrough: highest });
    this.log.warn({ from, through: highest }, 'batch record lost: skipping the rows of this partition that are in the table already');
  }

  /** Offset → event ids the table holds, for the part of a delivery that may have landed already. */
  private async landedIds(messages: readonly KafkaMessage[]): Promise<Map<number, Set<string>> | undefined> {
    const through = this.landedThrough;
    const first = messages[0];
    const last = messages[messages.length - 1];
    if (through === undefined || !first || !last) return undefined;
    const from = Math.max(this.nextOffset, Number(first.offset));
    const to = Math.min(through, Number(last.offset));
    if (from > to) return undefined;
    return this.retrying('read the rows the table holds of the partition', 'CLICKHOUSE_UNAVAILABLE', () =>
      this.deps.landed.ids(this.deps.partition, from, to, this.ctx.signal),
    );
  }

  /** Skipped rows are done once no buffered row comes before them: commit past them. */
  private async commitSkipped(): Promise<void> {
    const through = this.skippedThrough;
    if (through === undefined || this.buffer.length > 0) return;
    this.skippedThrough = undefined;
    const committed = this.deps.status.committed;
    if (committed === null || committed <= through) await this.commitOffset(through + 1);
  }

  /**
   * The age timer and the status after the buffer changed. Back-pressure is the gate's: it decides
   * on every change of what is queued or buffered, whatever this actor is busy with.
   */
  private afterChange(): void {
    const { gate, status } = this.deps;
    status.bufferedRows = this.buffer.length;
    status.bufferedBytes = this.bufferedBytes;
    if (!this.draining && status.state !== 'retrying') status.state = this.buffer.length > 0 ? 'buffering' : 'idle';
    gate.buffered(this.bufferedBytes);
    if (!this.timer && this.buffer.length > 0 && !this.draining) {
      const wait = msUntilDue({ rows: this.buffer.length, bytes: this.bufferedBytes, oldestAt: this.buffer[0]?.arrivedAt }, this.deps.limits, this.now());
      if (wait !== undefined) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.ctx.self.tell({ type: 'tick' });
        }, wait + 1);
        this.timer.unref();
      }
    }
  }

  /**
   * Flushes batches while one is due. `policy`: by the flush policy; `command` and `drain`: all
   * that is buffered. A recorded batch being re-formed is flushed exactly when complete, and
   * nothing after it is flushed before it. Returns the rows flushed.
   */
  private async flushWhileDue(mode: 'policy' | 'command' | 'drain'): Promise<number> {
    let flushed = 0;
    for (;;) {
      if (this.ctx.signal.aborted) return flushed;
      if (this.forced) {
        if (this.nextOffset <= this.forced.last) return flushed; // wait for the rest of it
        let n = 0;
        while (n < this.buffer.length && this.buffer[n]!.offset <= this.forced.last) n++;
        const boundary = this.forced;
        await this.flushBatch(n, 'reform', boundary);
        this.forced = undefined;
        flushed += n;
        continue;
      }
      if (this.buffer.length === 0) return flushed;
      const reason: FlushReason | undefined =
        mode === 'policy'
          ? flushDue({ rows: this.buffer.length, bytes: this.bufferedBytes, oldestAt: this.buffer[0]!.arrivedAt }, this.deps.limits, this.now())
          : mode;
      if (!reason) return flushed;
      const n = batchSize(this.buffer, this.deps.limits);
      await this.flushBatch(n, reason);
      flushed += n;
    }
  }

  /** One batch, start to end: record, insert (isolating rejects), dead-letter, mark, commit. */
  private async flushBatch(n: number, reason: FlushReason, recorded?: BatchBoundary): Promise<void> {
    const { status, metrics, topic, partition } = this.deps;
    const rows = this.buffer.slice(0, n);
    const started = this.now();
    const boundary: BatchBoundary = recorded ?? {
      first: rows[0]!.offset,
      last: rows[n - 1]!.offset,
      firstTimestamp: rows[0]!.timestamp,
      rows: n,
    };
    const token = dedupToken(topic, partition, boundary);
    const trace = SinkBatchTrace.start(rows, { topic, partition, reason, first: boundary.first, last: boundary.last, rows: n }, this.deps.traceInfo);
    this.phase = 'batch-state';
    if (!recorded) await this.writeBatch({ ...boundary, state: 'pending', at: new Date().toISOString() });
    this.log.debug({ first: boundary.first, last: boundary.last, rows: n, reason }, 'batch recorded; inserting');

    this.phase = 'insert';
    status.state = 'inserting';
    const insertable = rows.filter((r) => r.unreadable === undefined);
    const letters: DeadLetter[] = rows
      .filter((r) => r.unreadable !== undefined)
      .map((r) => ({ message: r.message, partition, code: 'EVENT_UNREADABLE', reason: r.unreadable! }));
    let bytes = 0;
    for (const r of insertable) bytes += r.bytes;
    let rejectedCount = 0;
    if (insertable.length > 0) {
      const result = await insertIsolating(insertable, token, (part, partToken) => this.attemptInsert(part, partToken, trace));
      rejectedCount = result.rejected.length;
      for (const rejected of result.rejected) {
        letters.push({ message: rejected.row.message, partition, code: rejected.code, reason: rejected.reason });
      }
    }
    if (letters.length > 0) {
      this.phase = 'dead-letter';
      await this.retrying('send dead letters', 'SINK_DLQ_UNAVAILABLE', () => this.deps.deadLetter(letters), deadLetterNeedsOperator);
      for (const letter of letters) {
        metrics.rowsDeadLettered.inc({ topic, code: letter.code });
        metrics.events.dropped.inc({ component: 'sink', code: letter.code });
      }
      status.deadLettered += letters.length;
      this.log.warn(
        { batch: { first: boundary.first, last: boundary.last }, deadLettered: letters.map((l) => ({ offset: l.message.offset, code: l.code, reason: l.reason.slice(0, 200) })) },
        'events dead-lettered',
      );
    }
    this.phase = 'batch-state';
    await this.writeBatch({ ...boundary, state: 'inserted', at: new Date().toISOString() });
    this.phase = 'commit';
    await this.commitOffset(boundary.last + 1);

    this.buffer.splice(0, n);
    for (const r of rows) this.bufferedBytes -= r.bytes;
    this.deps.gate.buffered(this.bufferedBytes);
    this.progressed();
    const inserted = insertable.length - rejectedCount;
    trace?.end(bytes, inserted, letters.length);
    status.rowsInserted += inserted;
    status.rate.add(inserted);
    const ms = this.now() - started;
    status.lastFlush = { at: new Date().toISOString(), rows: n, bytes, ms };
    metrics.rowsInserted.inc(this.labels, inserted);
    metrics.events.sent.inc({ component: 'sink' }, inserted);
    this.deps.onFlushed?.(inserted, letters.length);
    metrics.batches.inc({ topic, reason });
    metrics.batchRows.observe(this.labels, n);
    metrics.batchBytes.observe(this.labels, bytes);
    this.deps.gate.resume('retry');
    status.state = this.draining ? 'draining' : this.buffer.length > 0 ? 'buffering' : 'idle';
    this.log.debug({ first: boundary.first, last: boundary.last, rows: n, bytes, ms, reason }, 'batch committed');
  }

  /** Inserts some rows, retrying with backoff while the failure is not the data's fault. */
  private async attemptInsert(rows: readonly BufferedRow[], token: string, trace?: SinkBatchTrace): Promise<AttemptResult> {
    const { metrics, topic } = this.deps;
    const body = insertBody(rows);
    const span = trace?.startInsert(rows, token);
    span?.bodyBytes(body.length);
    return retry(
      async (attempt): Promise<AttemptResult> => {
        const started = performance.now();
        try {
          const outcome = await this.deps.insert(body, token, this.ctx.signal);
          span?.succeeded(attempt + 1, outcome.written);
          metrics.insertSeconds.observe(this.labels, (performance.now() - started) / 1000);
          if (outcome.written === 0) metrics.batchesDeduplicated.inc(this.labels);
          if (attempt > 0) this.log.info({ attempts: attempt + 1, token }, 'insert succeeded after retries; resuming');
          return { ok: true };
        } catch (error) {
          if (this.ctx.signal.aborted) throw error;
          const failure = classifyInsertError(error);
          if (failure.kind === 'reject') {
            span?.rejected(attempt + 1, failure.code, failure.message);
            return failure.rowHint === undefined
              ? { ok: false, code: failure.code, message: failure.message }
              : { ok: false, code: failure.code, message: failure.message, rowHint: failure.rowHint };
          }
          if (failure.kind === 'split') {
            // The same block can never succeed; its parts can (isolate.ts splits it, deterministically).
            span?.rejected(attempt + 1, failure.code, failure.message);
            this.log.info({ code: failure.code, rows: rows.length, token }, 'insert block spans too many partitions; splitting it');
            return { ok: false, code: failure.code, message: failure.message };
          }
          throw error;
        }
      },
      this.backoff({
        onRetry: (error, attempt, delay) => {
          const failure = classifyInsertError(error);
          metrics.insertRetries.inc({ topic, code: failure.code });
          metrics.events.errored.inc({ component: 'sink', code: failure.code }, rows.length);
          this.noteFailure('CLICKHOUSE_UNAVAILABLE', `${failure.code}: ${failure.message}`, failure.kind === 'retry' && failure.needsOperator, failure.code);
          span?.retrying(attempt, failure.code, delay);
          this.log.warn({ code: failure.code, error: failure.message.slice(0, 300), attempt, delayMs: delay, rows: rows.length, token }, 'insert failed; partition paused, retrying');
        },
      }),
    );
  }

  // --- batch state in NATS KV --------------------------------------------------------------------

  /**
   * Takes the partition's record over (compare-and-set), which fences any previous owner's writes.
   * A bucket that is gone (deleted, or lost with NATS's storage) is re-created, empty.
   */
  private async claim(): Promise<void> {
    const { batches, batchKey } = this.deps;
    await retry(
      async () => {
        const current = await batches.get(batchKey);
        const next: BatchRecord = { ...(current?.value ?? {}), v: 1, owner: this.owner, claimedAt: new Date().toISOString() };
        this.revision = current ? await batches.update(batchKey, next, current.revision) : await batches.create(batchKey, next);
        this.record = next;
      },
      this.backoff({
        // A lost race for the record is no failure: try again at once-ish, the delay capped low.
        delayMs: (attempt) => backoffDelay(this.deps.retry, Math.min(attempt, 5)),
        onRetry: async (error, attempt) => {
          if (isRevisionConflict(error)) return;
          this.deps.status.lastError = errorInfo('SINK_STATE_UNAVAILABLE', error);
          this.log.warn({ err: error, attempt }, 'cannot claim the batch record in NATS; retrying');
          await this.restoreBucket();
        },
      }),
    );
  }

  /**
   * Writes the batch boundary, only if we still own the record. The first batch a group ever
   * records commits its first offset before, so that a committed offset without a record always
   * means the record was lost (see started()).
   */
  private async writeBatch(batch: NonNullable<BatchRecord['batch']>): Promise<void> {
    if (batch.state === 'pending' && this.deps.status.committed === null) await this.commitOffset(batch.first);
    await this.writeRecord({ ...this.record, owner: this.owner, batch });
  }

  /**
   * Compare-and-set on the revision we hold: a conflict means another owner claimed the record
   * (PartitionLostError), or the record is gone (BatchStateLostError). NATS failures are retried;
   * a bucket found missing is re-created and the record counts as lost.
   */
  private async writeRecord(next: BatchRecord): Promise<void> {
    const { batches, batchKey, topic, partition } = this.deps;
    try {
      this.revision = await retry(
        () => batches.update(batchKey, next, this.revision),
        this.backoff({
          retriable: (error) => !isRevisionConflict(error) && isRetriable(error),
          onRetry: async (error, attempt) => {
            this.noteFailure('SINK_STATE_UNAVAILABLE', error);
            if (await this.restoreBucket()) throw new BatchStateLostError(topic, partition, `the bucket ${batches.name} was missing`);
            this.deps.gate.pause('retry');
            this.log.warn({ err: error, attempt }, 'cannot write batch state to NATS; retrying');
          },
        }),
      );
      this.record = next;
    } catch (error) {
      if (this.ctx.signal.aborted || !isRevisionConflict(error)) throw error;
      // Our own write may have landed while its answer was lost: then the record is ours.
      const current = await this.retrying('read batch state', 'SINK_STATE_UNAVAILABLE', () => batches.get(batchKey));
      if (current && JSON.stringify(current.value) === JSON.stringify(next)) {
        this.revision = current.revision;
        this.record = next;
        return;
      }
      if (!current) throw new BatchStateLostError(topic, partition, 'the record was deleted (its key, or the whole bucket)');
      throw new PartitionLostError(topic, partition, `batch record now owned by ${current.value.owner}`);
    }
  }

  /** After a failed KV operation: re-creates the batch bucket if it is gone; true when it was. */
  private async restoreBucket(): Promise<boolean> {
    const { batches } = this.deps;
    try {
      const restored = await batches.restoreIfMissing();
      if (restored) this.log.warn({ bucket: batches.name }, 'the batch bucket was missing (deleted or lost); re-created it');
      return restored;
    } catch (error) {
      this.log.warn({ err: error, bucket: batches.name }, 'cannot check the batch bucket in NATS');
      return false;
    }
  }

  private async commitOffset(offset: number): Promise<void> {
    await retry(
      () => untilStopped(this.deps.commit(offset), this.ctx.signal),
      this.backoff({
        onRetry: (error, attempt) => {
          const type = (error as { type?: string }).type;
          if (type && LOST_GENERATION.has(type)) throw new PartitionLostError(this.deps.topic, this.deps.partition, `commit refused: ${type}`);
          if (attempt >= 8) {
            throw new FloodgateError('KAFKA_COMMIT_FAILED', `cannot commit offset ${offset}: ${(error as Error).message}`, {
              cause: error,
              retriable: true,
              context: { topic: this.deps.topic, partition: this.deps.partition },
            });
          }
          this.noteFailure('KAFKA_COMMIT_FAILED', error);
          this.log.warn({ err: error, attempt, offset }, 'offset commit failed; retrying');
        },
      }),
    );
    this.deps.status.committed = offset;
    this.deps.metrics.commits.inc(this.labels);
  }

  /**
   * Retries an operation with backoff until it succeeds, the actor stops, or it fails in a way no
   * retry mends (see `retry`); a stop abandons the attempt in flight at once. `needsOperator` tells
   * failures that will not pass by themselves.
   */
  private retrying<T>(what: string, code: string, operation: () => Promise<T>, needsOperator: (error: unknown) => boolean = () => false): Promise<T> {
    return retry(
      () => untilStopped(operation(), this.ctx.signal),
      this.backoff({
        onRetry: (error, attempt, delay) => {
          this.noteFailure(code, error, needsOperator(error));
          this.log.warn({ err: error, attempt, delayMs: delay }, `${what} failed; retrying`);
        },
      }),
    );
  }

  /** The actor's retry settings: its backoff (SINK_RETRY_*), waits that end when the actor stops. */
  private backoff(options: Partial<RetryOptions>): RetryOptions {
    return {
      delayMs: (attempt) => backoffDelay(this.deps.retry, attempt),
      wait: (ms) => sleep(ms, this.ctx.signal),
      signal: this.ctx.signal,
      ...options,
    };
  }

  // --- failures and the stuck state ---------------------------------------------------------------

  /**
   * One failed attempt of the current step: the last error in `status`, counted towards the stuck
   * state (stuck.ts). Inside a batch the partition shows `retrying` and its fetching pauses.
   */
  private noteFailure(code: string, error: unknown, needsOperator = false, cause?: string): void {
    const { status, gate } = this.deps;
    const info = errorInfo(code, error);
    status.lastError = info;
    status.failing = addFailure(status.failing, this.now(), { step: this.phase, code, message: info.message, needsOperator, ...(cause ? { cause } : {}) });
    if (this.phase !== 'start') {
      status.state = 'retrying';
      gate.pause('retry');
    }
    const stuck = stuckState(status.failing, this.now(), this.deps.stuck);
    if (stuck && !this.stuckLogged) {
      this.stuckLogged = true;
      this.log.error({ code: 'SINK_PARTITION_STUCK', stuck }, 'partition stuck: its batch keeps failing (see floodgate status)');
    }
  }

  /** The partition made progress (a batch committed, or it started): it is failing no more. */
  private progressed(): void {
    const { status } = this.deps;
    if (status.failing && this.stuckLogged) {
      this.log.warn({ attempts: status.failing.attempts, since: new Date(status.failing.since).toISOString() }, 'partition no longer stuck');
    }
    status.failing = undefined;
    this.stuckLogged = false;
  }
}

/** The event id in a Kafka value (the row's id column), if the value is a JSON object with one. */
function eventIdOf(message: KafkaMessage): string | undefined {
  if (!message.value) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.value.toString('utf8'));
  } catch {
    return undefined; // not JSON: never a row of the table (it is dead-lettered as unreadable)
  }
  const id = parsed !== null && typeof parsed === 'object' ? (parsed as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : undefined;
}
