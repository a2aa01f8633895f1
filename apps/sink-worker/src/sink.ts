import os from 'node:os';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { backoffDelay, ActorSupervisor, type ActorRef } from '@floodgate/actors';
import { FloodgateError, isProgrammerError } from '@floodgate/errors';
import { readPartitionOffsets } from '@floodgate/kafka';
import type { Logger } from '@floodgate/logging';
import { JsonBucket, type NatsConnection } from '@floodgate/nats';
import { batchKey, sinkControlPlane, type ActorRecord, type ErrorInfo, type ProcessRecord, type ProcessState } from '@floodgate/sink-protocol';
import { BackPressure } from './back-pressure.ts';
import type { BatchRecord } from './batch-state.ts';
import { createInsert, createLandedRows } from './clickhouse.ts';
import type { SinkConfig } from './config.ts';
import { DeadLetterProducer } from './dead-letter.ts';
import type { SinkMetrics } from './metrics.ts';
import { RateMeter } from './rate.ts';
import { failingState, stuckState } from './stuck.ts';
import {
  newPartitionStatus,
  partitionActor,
  type FlushOutcome,
  type PartitionGate,
  type PartitionMessage,
  type PartitionOffsets,
  type PartitionStatus,
  type PauseReason,
} from './partition-actor.ts';

export interface SinkDeps {
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  nc: NatsConnection;
  logger: Logger;
  metrics: SinkMetrics;
  /** Set when a supervisor runs this process (shown by `floodgate status`). */
  supervisorId?: string;
  adminPort?: () => number | undefined;
}

export interface DrainOutcome {
  flushed: FlushOutcome[];
  /** Partitions whose last recorded batch could not be completed; their next owner finishes it. */
  incomplete: number[];
}

export interface Sink {
  readonly processId: string;
  /** Joins the consumer group; partition actors start as partitions are assigned. */
  start(): Promise<void>;
  /** Flushes every partition's buffer now (inserts and commits). */
  flush(): Promise<FlushOutcome[]>;
  /** Stops fetching (buffered rows are still flushed by the policy). */
  pause(): void;
  resume(): void;
  /** Flushes and commits every buffer, then leaves the group cleanly. Runs once. */
  drain(): Promise<DrainOutcome>;
  state(): ProcessState;
  snapshot(): { process: ProcessRecord; actors: ActorRecord[] };
  /** Refreshes the end offsets (lag) of the owned partitions; the heartbeat calls it. */
  refreshLag(): Promise<void>;
  /** Settles when the sink must end: after a drain, or a failure it cannot recover from. */
  readonly ended: Promise<{ reason: 'drained' | 'failed'; error?: unknown }>;
}

/** A partition this process owns: its actor, the gate of its fetching, its status. */
interface OwnedPartition {
  partition: number;
  gate: Gate;
  actor: ActorRef<PartitionMessage>;
  status: PartitionStatus;
}

/**
 * One kafkajs consumer instance. When it crashes the sink retires it and makes a new one, so
 * whatever was bound to it (gates, commits) must not touch the dead instance: kafkajs throws
 * synchronously from pause/resume/seek once its consumer group is gone.
 */
interface ConsumerRun {
  readonly consumer: Consumer;
  /** False from the moment its crash is seen (or it is disconnected) on. */
  alive: boolean;
  /** Removes the sink's listeners from this instance. */
  readonly detach: Array<() => void>;
}

/**
 * Calls the consumer unless it is gone. kafkajs throws "Consumer group was not initialized" from
 * pause/resume/seek in the window between its crash and the CRASH event: that is the crash the
 * handler below deals with, not a failure of the caller (an actor, a rebalance), so it is logged
 * and not passed on.
 */
function onConsumer(run: ConsumerRun, logger: Logger, what: string, call: (consumer: Consumer) => void): void {
  if (!run.alive) return;
  try {
    call(run.consumer);
  } catch (error) {
    logger.warn({ err: error, call: what }, 'kafka consumer unavailable (it crashed; a new one is being made)');
  }
}

/**
 * A partition's pause reasons, back-pressure and delivery epoch, bound to one consumer instance;
 * inert once retired.
 */
class Gate implements PartitionGate {
  epoch = 0;
  accepting = false;
  private readonly reasons = new Set<PauseReason>();
  private readonly pressure: BackPressure;
  private retired = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly run: ConsumerRun,
    private readonly logger: Logger,
    private readonly maxBufferedBytes: number,
    private readonly onChange: (paused: boolean) => void,
  ) {
    this.pressure = new BackPressure(maxBufferedBytes, (paused) => (paused ? this.pause('backpressure') : this.resume('backpressure')));
  }

  /** The consumer hands records of `bytes` to the actor (counted before the hand-over, current epoch). */
  queued(bytes: number): void {
    this.pressure.queued(bytes);
  }

  taken(epoch: number, bytes: number, bufferedBytes: number): void {
    // Records of an earlier incarnation were counted before its restart reset the count.
    if (epoch === this.epoch) this.pressure.taken(bytes, bufferedBytes);
    else this.pressure.buffered(bufferedBytes);
  }

  /** The actor refused records it was handed (its mailbox is closed): they no longer count. */
  refused(epoch: number, bytes: number): void {
    if (epoch === this.epoch) this.pressure.taken(bytes);
  }

  buffered(bytes: number): void {
    this.pressure.buffered(bytes);
  }

  discardQueued(): void {
    this.pressure.discardQueued();
  }

  restart(): void {
    this.pressure.reset();
    this.resume('retry');
    this.resume('backpressure');
  }

  private call(what: string, call: (consumer: Consumer) => void): void {
    onConsumer(this.run, this.logger, what, call);
  }

  pause(reason: PauseReason): void {
    if (this.retired) return;
    const was = this.reasons.size > 0;
    this.reasons.add(reason);
    if (!was) {
      this.call('pause', (c) => c.pause([{ topic: this.topic, partitions: [this.partition] }]));
      this.onChange(true);
    }
  }

  resume(reason: PauseReason): void {
    if (this.retired || !this.reasons.delete(reason) || this.reasons.size > 0) return;
    this.call('resume', (c) => c.resume([{ topic: this.topic, partitions: [this.partition] }]));
    this.onChange(false);
  }

  pausedFor(): PauseReason[] {
    return [...this.reasons];
  }

  /** Why fetching is paused, one readable line per reason (shown by `floodgate status`). */
  pausedWhy(): string[] {
    return [...this.reasons].map((reason) => {
      switch (reason) {
        case 'backpressure':
          return `backpressure: ${this.pressure.pending} bytes fetched and not yet inserted, bound ${this.maxBufferedBytes} (SINK_MAX_BUFFERED_BYTES); resumes as inserts catch up`;
        case 'retry':
          return 'retry: the current batch is failing and being retried (see the error)';
        case 'operator':
          return 'operator: paused by floodgate sink pause';
        case 'draining':
          return 'draining: the process is handing its partitions over';
        case 'starting':
          return 'starting: the partition actor is starting (it resumes once ready)';
        case 'lost':
          return 'lost: the partition is being given up';
        case 'refused':
          return 'refused: its batch record contradicts Kafka or the table and was refused; delete it (floodgate sink forget-batch-record)';
        default:
          return reason;
      }
    });
  }

  seek(offset: number): void {
    if (this.retired) return;
    this.call('seek', (c) => c.seek({ topic: this.topic, partition: this.partition, offset: String(offset) }));
  }

  /** The partition is no longer ours: undo our pause so a later assignment starts clean. */
  retire(stillAssigned: boolean): void {
    if (this.retired) return;
    this.retired = true;
    this.accepting = false;
    if (this.reasons.size > 0 && !stillAssigned) this.call('resume', (c) => c.resume([{ topic: this.topic, partitions: [this.partition] }]));
    this.reasons.clear();
  }
}

function errorInfo(code: string, error: unknown): ErrorInfo {
  const message = error instanceof Error ? error.message : String(error);
  return { at: new Date().toISOString(), code, message: message.slice(0, 500) };
}

/** The innermost cause (kafkajs wraps connection errors in retry errors). */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10 && current instanceof Error && current.cause !== undefined; depth++) current = current.cause;
  return current;
}

/** How long a heartbeat waits for fresh end offsets before it publishes the last known ones. */
const LAG_REFRESH_WAIT_MS = 1000;

/**
 * A sink process: one Kafka consumer in the group, one partition actor per assigned partition
 * under an actor supervisor. kafkajs uses the eager rebalance protocol (every member gives up all its
 * partitions on each rebalance), so on each new assignment every actor is stopped and a fresh one
 * starts per assigned partition from the committed offset and the recorded batch.
 *
 * Kafka going away (a broker restart, however long) is ridden out: when kafkajs gives up on its
 * consumer (CRASH, e.g. KafkaJSNumberOfRetriesExceeded) the actors stop, the process shows state
 * `reconnecting` with the error, and a new consumer is made after a backoff, again and again,
 * until it joins the group; then the actors start from the committed offsets and recorded batches.
 */
export function createSink(config: SinkConfig, deps: SinkDeps): Sink {
  const { kafka, clickhouse, nc, logger, metrics } = deps;
  const topic = config.KAFKA_TOPIC;
  const processId = config.SINK_PROCESS_ID;
  const table = `${config.CLICKHOUSE_DATABASE}.${config.SINK_TABLE}`;
  const startedAt = new Date().toISOString();
  const labels = { topic };
  const newConsumerRun = (): ConsumerRun => ({
    consumer: kafka.consumer({
      groupId: config.SINK_GROUP_ID,
      sessionTimeout: config.SINK_SESSION_TIMEOUT_MS,
      heartbeatInterval: config.SINK_HEARTBEAT_INTERVAL_MS,
      rebalanceTimeout: config.SINK_REBALANCE_TIMEOUT_MS,
      maxWaitTimeInMs: config.SINK_FETCH_MAX_WAIT_MS,
      maxBytesPerPartition: config.SINK_FETCH_MAX_BYTES_PER_PARTITION,
      allowAutoTopicCreation: false,
      // kafkajs would restart a crashed consumer itself, but only for errors it deems retriable,
      // with no backoff of its own and no way to see it from outside. The sink does it instead
      // (reconnect below): every crash, unbounded, with backoff, shown in `floodgate status`.
      retry: { restartOnFailure: async () => false },
    }),
    alive: true,
    detach: [],
  });
  let current: ConsumerRun = newConsumerRun();
  /** Set while there is no working consumer: since when, failed attempts, when the next one starts. */
  let reconnect: { since: string; attempts: number; nextAttemptAt: string | null; timer?: NodeJS.Timeout } | undefined;
  /** The last consumer failure (shown as the process's last error when it is the newest). */
  let kafkaError: ErrorInfo | undefined;
  const kafkaAdmin: Admin = kafka.admin();
  const deadLetters = new DeadLetterProducer(kafka, topic, config.KAFKA_DLQ_TOPIC);
  const insert = createInsert(clickhouse, table);
  const landed = createLandedRows(clickhouse, table);
  const owned = new Map<number, OwnedPartition>();
  const totals = { inserted: 0, deadLettered: 0, rate: new RateMeter() };
  let batches: JsonBucket<BatchRecord>;
  let state: ProcessState = 'starting';
  let operatorPaused = false;
  let drainPromise: Promise<DrainOutcome> | undefined;
  let assignmentChain: Promise<void> = Promise.resolve();
  let assigned: number[] = [];
  let endSink: (value: { reason: 'drained' | 'failed'; error?: unknown }) => void = () => {};
  const ended = new Promise<{ reason: 'drained' | 'failed'; error?: unknown }>((resolve) => (endSink = resolve));

  const actorSupervisor = new ActorSupervisor({
    policy: {
      maxRestarts: config.SINK_ACTOR_MAX_RESTARTS,
      withinMs: config.SINK_ACTOR_RESTART_WINDOW_MS,
      backoff: { initialMs: config.SINK_RETRY_INITIAL_MS, maxMs: config.SINK_RETRY_MAX_MS },
    },
    onEvent: (event) => {
      if (event.type === 'failed') logger.error({ actor: event.actor, incarnation: event.incarnation, err: event.error }, 'partition actor failed');
      else if (event.type === 'restarting') logger.warn({ actor: event.actor, attempt: event.attempt, delayMs: event.delayMs }, 'restarting partition actor');
      else {
        // Escalation: this process cannot keep the partition going; let the process supervisor restart it.
        logger.fatal({ actor: event.actor, failures: event.failures, err: event.error }, 'partition actor failed too often; giving up on this process');
        endSink({ reason: 'failed', error: event.error });
      }
    },
  });

  // --- offsets --------------------------------------------------------------------------------

  let offsetsInFlight: Promise<Map<number, PartitionOffsets>> | undefined;
  /** Committed offsets of the group and the topic's low/high offsets, one admin round trip for all partitions. */
  function readOffsets(): Promise<Map<number, PartitionOffsets>> {
    offsetsInFlight ??= (async () => {
      try {
        return await readPartitionOffsets(kafkaAdmin, config.SINK_GROUP_ID, topic);
      } finally {
        offsetsInFlight = undefined;
      }
    })();
    return offsetsInFlight;
  }

  // --- partition actors ------------------------------------------------------------------------

  function spawn(partition: number): OwnedPartition {
    const status = newPartitionStatus();
    const run = current;
    const gate = new Gate(topic, partition, run, logger, config.SINK_MAX_BUFFERED_BYTES, (paused) => metrics.partitionPaused.set({ topic, partition: String(partition) }, paused ? 1 : 0));
    if (operatorPaused) gate.pause('operator');
    const actor = actorSupervisor.spawn<PartitionMessage>(
      `partition-${partition}`,
      partitionActor({
        topic,
        partition,
        processId,
        limits: { maxRows: config.SINK_FLUSH_MAX_ROWS, maxBytes: config.SINK_FLUSH_MAX_BYTES, maxAgeMs: config.SINK_FLUSH_MAX_AGE_MS },
        retry: { initialMs: config.SINK_RETRY_INITIAL_MS, maxMs: config.SINK_RETRY_MAX_MS },
        gate,
        batches,
        batchKey: batchKey(config.SINK_GROUP_ID, topic, partition),
        offsets: async () => {
          const entry = (await readOffsets()).get(partition);
          if (!entry) throw new FloodgateError('KAFKA_UNAVAILABLE', `partition ${partition} of ${topic} has no offsets (is it new?)`, { retriable: true, context: { topic, partition } });
          return entry;
        },
        insert,
        landed,
        deadLetter: (letters) => deadLetters.send(letters),
        // Bound to the consumer this actor was started for: a commit never goes through a later one.
        commit: async (offset) => {
          if (!run.alive) throw new FloodgateError('KAFKA_COMMIT_FAILED', 'the kafka consumer this partition was assigned by is gone', { retriable: true, context: { topic, partition } });
          try {
            await run.consumer.commitOffsets([{ topic, partition, offset: String(offset) }]);
          } catch (error) {
            // The group coordinator moved (its broker restarted). kafkajs keeps committing to the
            // broker it found first for as long as that one is connected, so every later commit
            // fails the same way and the partitions never drain (found by the chaos suite, fault 3).
            // A new consumer looks the coordinator up again: treated as a consumer crash.
            if (coordinatorMoved(error)) onCrash(run, error);
            throw error;
          }
        },
        metrics,
        logger,
        status,
        stuck: { afterMs: config.SINK_STUCK_AFTER_MS, afterAttempts: config.SINK_STUCK_AFTER_ATTEMPTS },
        onFlushed: (inserted, deadLettered) => {
          totals.inserted += inserted;
          totals.deadLettered += deadLettered;
          totals.rate.add(inserted);
        },
        traceInfo: { database: config.CLICKHOUSE_DATABASE, table: config.SINK_TABLE, group: config.SINK_GROUP_ID },
      }),
    );
    const held: OwnedPartition = { partition, gate, actor, status };
    void actor.done.then((exit) => {
      // An actor that stopped itself (it lost the partition's record to another owner) while the
      // partition is still ours gets a new incarnation after a pause, unless a rebalance replaced it.
      if (exit.status !== 'stopped' || owned.get(partition) !== held || drainPromise) return;
      setTimeout(() => {
        assignmentChain = assignmentChain.then(() => {
          if (owned.get(partition) !== held || drainPromise || !assigned.includes(partition)) return;
          logger.warn({ partition }, 'partition still assigned after its actor stopped; starting a new one');
          held.gate.retire(true);
          onConsumer(current, logger, 'resume', (c) => c.resume([{ topic, partitions: [partition] }]));
          owned.set(partition, spawn(partition));
        });
      }, config.SINK_SESSION_TIMEOUT_MS).unref();
    });
    return held;
  }

  async function stopSlots(keep: number[]): Promise<void> {
    const old = [...owned.values()];
    owned.clear();
    for (const held of old) held.gate.accepting = false;
    await Promise.all(old.map((held) => held.actor.stop()));
    for (const held of old) {
      held.gate.retire(keep.includes(held.partition));
      metrics.partitionLag.remove({ topic, partition: String(held.partition) });
      metrics.partitionPaused.remove({ topic, partition: String(held.partition) });
      metrics.partitionStuck.remove({ topic, partition: String(held.partition) });
    }
  }

  function onAssignment(partitions: number[]): void {
    const mine = [...partitions].sort((a, b) => a - b);
    assigned = mine;
    // Synchronously, before kafkajs fetches for the new generation: nothing is handed to the old
    // actors any more, and new partitions wait (paused) until their actor has sought its start.
    const run = current;
    for (const held of owned.values()) held.gate.accepting = false;
    if (mine.length > 0) onConsumer(run, logger, 'pause', (c) => c.pause([{ topic, partitions: mine }]));
    assignmentChain = assignmentChain
      .then(async () => {
        await stopSlots(mine);
        if (assigned !== mine) return; // a newer assignment is queued behind us
        if (mine.length > 0) onConsumer(run, logger, 'resume', (c) => c.resume([{ topic, partitions: mine }])); // each gate pauses again until its actor is ready
        metrics.partitionsOwned.set(labels, drainPromise ? 0 : mine.length);
        if (drainPromise || !run.alive || run !== current) return;
        for (const partition of mine) owned.set(partition, spawn(partition));
        logger.info({ partitions: mine }, 'partitions assigned');
      })
      .catch((error: unknown) => {
        // A bug, not Kafka: the chain must never stay rejected (an unhandled rejection ends the
        // process without a drain). End the process cleanly; its supervisor restarts it.
        logger.fatal({ err: error, partitions: mine }, 'cannot apply a partition assignment');
        endSink({ reason: 'failed', error });
      });
  }

  // --- consumer loop ---------------------------------------------------------------------------

  async function eachBatch({ batch, resolveOffset, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const held = owned.get(batch.partition);
    if (!held || !held.gate.accepting) return; // not resolved: fetched again once an actor is ready
    let bytes = 0;
    for (const m of batch.messages) bytes += m.value ? m.value.length : 0;
    // Counted before the hand-over: an idle actor takes the records inside `tell`, synchronously.
    const epoch = held.gate.epoch;
    held.gate.queued(bytes);
    const accepted = held.actor.tell({ type: 'records', epoch, messages: batch.messages, highWatermark: batch.highWatermark, bytes });
    if (!accepted) {
      held.gate.refused(epoch, bytes);
      return;
    }
    // Resolving moves the fetch position only; the committed offset moves after the insert.
    resolveOffset(batch.lastOffset());
  }

  // --- the process -----------------------------------------------------------------------------

  async function start(): Promise<void> {
    const plane = sinkControlPlane(config.SINK_NATS_PREFIX);
    batches = await JsonBucket.open<BatchRecord>(nc, plane.batchesBucket);
    await kafkaAdmin.connect();
    await deadLetters.connect();
    logger.info({ group: config.SINK_GROUP_ID, topic }, 'joining the consumer group');
    await runConsumer(current);
    if (state === 'starting') state = operatorPaused ? 'paused' : 'running';
  }

  /** Connects, subscribes and runs one consumer instance; its events drive assignments and recovery. */
  async function runConsumer(run: ConsumerRun): Promise<void> {
    const { consumer } = run;
    run.detach.push(
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        if (run !== current || !run.alive) return;
        onJoined();
        onAssignment(event.payload.memberAssignment[topic] ?? []);
      }),
      consumer.on(consumer.events.CRASH, (event) => onCrash(run, event.payload.error)),
    );
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch });
  }

  function onJoined(): void {
    if (reconnect) {
      logger.info({ since: reconnect.since, attempts: reconnect.attempts + 1 }, 'kafka consumer reconnected; resuming');
      reconnect = undefined;
    }
    if (state === 'starting' || state === 'reconnecting') state = operatorPaused ? 'paused' : 'running';
  }

  /** Stops using a consumer instance for good: its gates and commits go inert, kafkajs lets go of it. */
  function retire(run: ConsumerRun): void {
    run.alive = false;
    for (const detach of run.detach.splice(0)) detach();
    void run.consumer.disconnect().catch((error: unknown) => logger.debug({ err: error }, 'disconnecting a crashed kafka consumer failed'));
  }

  /**
   * kafkajs gave up on the consumer (its retries are spent: the broker is away, the coordinator
   * moved, ...) or a new one could not connect. The actors stop (nothing uncommitted is lost: the
   * next assignment re-reads from the committed offset and the recorded batch), and a new consumer
   * is made after a backoff, for as long as it takes. Only a programmer error ends the process.
   */
  function onCrash(run: ConsumerRun, error: unknown): void {
    if (run !== current || !run.alive) return;
    retire(run);
    const programmer = isProgrammerError(rootCause(error));
    kafkaError = errorInfo(programmer ? 'INTERNAL' : 'KAFKA_UNAVAILABLE', error);
    onAssignment([]);
    if (drainPromise) return; // the drain leaves the group; nothing to reconnect
    if (programmer) {
      logger.fatal({ err: error }, 'kafka consumer crashed on a programming error; ending this process');
      endSink({ reason: 'failed', error });
      return;
    }
    state = 'reconnecting';
    if (reconnect) reconnect.attempts++;
    else reconnect = { since: new Date().toISOString(), attempts: 0, nextAttemptAt: null };
    const delayMs = backoffDelay({ initialMs: config.SINK_RETRY_INITIAL_MS, maxMs: config.SINK_RETRY_MAX_MS }, reconnect.attempts);
    reconnect.nextAttemptAt = new Date(Date.now() + delayMs).toISOString();
    reconnect.timer = setTimeout(() => void reconnectNow(), delayMs);
    const log = { err: error, attempt: reconnect.attempts + 1, since: reconnect.since, delayMs };
    if (reconnect.attempts === 0) logger.error(log, 'kafka consumer crashed; making a new one');
    else logger.warn(log, 'kafka consumer still unavailable; retrying');
  }

  async function reconnectNow(): Promise<void> {
    if (!reconnect || drainPromise) return;
    reconnect.timer = undefined;
    reconnect.nextAttemptAt = null;
    const run = newConsumerRun();
    current = run;
    try {
      await runConsumer(run);
    } catch (error) {
      onCrash(run, error); // connect or subscribe failed: the broker is still away
      return;
    }
    if (drainPromise) retire(run);
  }

  async function askAll(type: 'flush' | 'drain'): Promise<FlushOutcome[]> {
    const current = [...owned.values()];
    const results = await Promise.allSettled(
      current.map((held) =>
        held.actor.ask<FlushOutcome>((reply, fail) => ({ type, reply, fail }), config.SINK_SHUTDOWN_TIMEOUT_MS),
      ),
    );
    return results.map((r, i) =>
      r.status === 'fulfilled' ? r.value : { partition: current[i]!.partition, rows: 0, committed: current[i]!.status.committed },
    );
  }

  async function drain(): Promise<DrainOutcome> {
    drainPromise ??= (async () => {
      state = 'draining';
      logger.info({ partitions: assigned }, 'draining: flushing, committing and leaving the group');
      if (reconnect?.timer) clearTimeout(reconnect.timer);
      await assignmentChain;
      for (const held of owned.values()) held.gate.pause('draining');
      const flushed = await askAll('drain');
      const incomplete = [...owned.values()].filter((s) => s.status.bufferedRows > 0).map((s) => s.partition);
      await stopSlots([]);
      // Leaving the group hands the partitions to the others right away (no session timeout).
      const run = current;
      await run.consumer.disconnect().catch((error: unknown) => logger.warn({ err: error }, 'leaving the consumer group failed'));
      run.alive = false;
      await deadLetters.disconnect().catch(() => {});
      await kafkaAdmin.disconnect().catch(() => {});
      metrics.partitionsOwned.set(labels, 0);
      logger.info({ flushed, incomplete }, 'drained');
      endSink({ reason: 'drained' });
      return { flushed, incomplete };
    })();
    return drainPromise;
  }

  function snapshot(): { process: ProcessRecord; actors: ActorRecord[] } {
    const now = new Date().toISOString();
    const nowMs = Date.parse(now);
    const stuckBounds = { afterMs: config.SINK_STUCK_AFTER_MS, afterAttempts: config.SINK_STUCK_AFTER_ATTEMPTS };
    const actors: ActorRecord[] = [...owned.values()].map((held) => {
      const s = held.status;
      const stuck = stuckState(s.failing, nowMs, stuckBounds);
      metrics.partitionStuck.set({ topic, partition: String(held.partition) }, stuck ? 1 : 0);
      const lag = s.endOffset !== null && s.committed !== null ? Math.max(0, s.endOffset - s.committed) : null;
      const record: ActorRecord = {
        kind: 'actor',
        process: processId,
        topic,
        partition: held.partition,
        state: s.state,
        pausedFor: held.gate.pausedFor(),
        pausedWhy: held.gate.pausedWhy(),
        committed: s.committed === null ? null : String(s.committed),
        endOffset: s.endOffset === null ? null : String(s.endOffset),
        lag,
        bufferedRows: s.bufferedRows,
        bufferedBytes: s.bufferedBytes,
        rowsInserted: s.rowsInserted,
        rowsPerSec: s.rate.perSecond(),
        restarts: held.actor.restarts,
        heartbeatAt: now,
      };
      if (s.lastFlush) record.lastFlush = s.lastFlush;
      if (s.lastError) record.lastError = s.lastError;
      if (stuck) record.stuck = stuck;
      if (s.failing) record.failing = failingState(s.failing);
      return record;
    });
    const lastError = [kafkaError, ...actors.map((a) => a.lastError)]
      .filter((e) => e !== undefined)
      .sort((a, b) => (a.at < b.at ? 1 : -1))[0];
    const process: ProcessRecord = {
      kind: 'process',
      id: processId,
      host: os.hostname(),
      pid: globalThis.process.pid,
      group: config.SINK_GROUP_ID,
      topic,
      table,
      state,
      startedAt,
      heartbeatAt: now,
      partitions: actors.map((a) => a.partition),
      rowsInserted: totals.inserted,
      rowsPerSec: totals.rate.perSecond(),
      deadLettered: totals.deadLettered,
    };
    if (deps.supervisorId) process.supervisor = deps.supervisorId;
    const port = deps.adminPort?.();
    if (port !== undefined) process.adminPort = port;
    if (lastError) process.lastError = lastError;
    if (reconnect) process.reconnecting = { since: reconnect.since, attempts: reconnect.attempts + 1, nextAttemptAt: reconnect.nextAttemptAt };
    return { process, actors };
  }

  let endsInFlight: Promise<void> | undefined;
  async function readEnds(): Promise<void> {
    const ends = await kafkaAdmin.fetchTopicOffsets(topic);
    for (const end of ends) {
      const held = owned.get(end.partition);
      if (!held) continue;
      held.status.endOffset = Number(end.high);
      if (held.status.committed !== null) {
        metrics.partitionLag.set({ topic, partition: String(end.partition) }, Math.max(0, Number(end.high) - held.status.committed));
      }
    }
  }

  /**
   * Refreshes end offsets (for lag) of the owned partitions; called by the heartbeat. Waits at most
   * LAG_REFRESH_WAIT_MS: with Kafka away the admin request takes its retries, and the heartbeat
   * must still go out (the membership entry would expire and `status` lose the process).
   */
  async function refreshLag(): Promise<void> {
    if (owned.size === 0 || drainPromise) return;
    const inFlight = (endsInFlight ??= readEnds().finally(() => (endsInFlight = undefined)));
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, LAG_REFRESH_WAIT_MS)));
    try {
      await Promise.race([inFlight, waited]);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    processId,
    start,
    flush: () => askAll('flush'),
    pause() {
      operatorPaused = true;
      if (state === 'running') state = 'paused';
      for (const held of owned.values()) held.gate.pause('operator');
    },
    resume() {
      operatorPaused = false;
      if (state === 'paused') state = 'running';
      for (const held of owned.values()) held.gate.resume('operator');
    },
    drain,
    state: () => state,
    snapshot,
    ended,
    refreshLag,
  };
}

/**
 * True when a commit failed because the consumer's cached group coordinator is no longer the
 * coordinator (NOT_COORDINATOR_FOR_GROUP) or no longer in the metadata (KafkaJSBrokerNotFound),
 * however deep kafkajs wrapped it (KafkaJSNumberOfRetriesExceeded carries it as `cause`).
 */
export function coordinatorMoved(error: unknown): boolean {
  let e = error as { type?: string; name?: string; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 6; depth++) {
    if (e.type === 'NOT_COORDINATOR_FOR_GROUP' || e.name === 'KafkaJSBrokerNotFound') return true;
    e = e.cause as typeof e;
  }
  return false;
}
