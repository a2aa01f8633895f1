/**
 * A load thread: its own connections, its own share of the arrivals, its own histograms. The main
 * thread only merges one snapshot per thread per second, so the generator scales with threads
 * instead of being its own bottleneck.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { buildBodyPool, type BodyFormat, type EventKind } from './payload.ts';
import { nowMs, runClosedLoop, runOpenLoop } from './scheduler.ts';
import { IntervalRecorder } from './stats.ts';
import { HttpTarget } from './targets/http.ts';
import type { Target, TargetOptions } from './targets/target.ts';
import { WsTarget } from './targets/ws.ts';
import type { Profile } from './profile.ts';

export interface LoadWorkerData {
  thread: number;
  runId: string;
  target: TargetOptions;
  payload: { batch: number; format: BodyFormat; gzip: boolean; eventBytes: number; mix: Partial<Record<EventKind, number>>; seed: number; poolSize: number };
}

export type ToWorker =
  /** t0: epoch ms of the run's t = 0 (set once the threads are ready); interval i covers [t0 + i s, t0 + (i+1) s). */
  | { type: 'phase'; phase: number; model: 'open' | 'closed'; profile: Profile; startAtMs: number; thinkMs: number; drainMs: number; t0: number }
  | { type: 'stop' }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'open-failed'; message: string }
  | { type: 'interval'; snapshot: import('./stats.ts').IntervalSnapshot }
  | { type: 'phase-done'; phase: number; dispatched: number; intended: number; stoppedEarly: boolean; undrained: number }
  | { type: 'closed' };

const data = workerData as LoadWorkerData;
const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);

const pool = buildBodyPool({ runId: data.runId, ...data.payload, size: data.payload.poolSize });
const target: Target = data.target.kind === 'ws' ? new WsTarget(data.target) : new HttpTarget(data.target);
const recorder = new IntervalRecorder();
let phase = -1;
let stop = false;
let nextBody = data.thread * 7;

let t0 = 0;
const secondOfRun = () => Math.max(0, Math.floor((nowMs() - t0) / 1000));
/** The second of the run the recorder's counts belong to. */
let intervalIndex = secondOfRun();
function flush(): void {
  if (phase >= 0 && !recorder.empty) post({ type: 'interval', snapshot: recorder.take(phase, intervalIndex, target.inFlight) });
  intervalIndex = secondOfRun();
}
// Flush just after every whole second of the run (the counts of the second that just ended).
let ticker: NodeJS.Timeout | undefined;
function scheduleTick(): void {
  const wait = 1000 - ((nowMs() - t0) % 1000) + 2;
  ticker = setTimeout(() => {
    flush();
    scheduleTick();
  }, wait);
}

/** A request sent and not yet counted; `counted` is set once it is (by its answer or as unanswered). */
interface Pending {
  events: number;
  counted: boolean;
}
const pending = new Set<Pending>();

function fire(intendedAtMs: number): Promise<void> {
  const body = pool[nextBody++ % pool.length]!;
  recorder.onSent(body.events);
  const request: Pending = { events: body.events, counted: false };
  pending.add(request);
  return target.send(body, intendedAtMs).then((outcome) => {
    pending.delete(request);
    if (request.counted) return;
    request.counted = true;
    recorder.onOutcome(outcome, body.events, nowMs());
  });
}

/**
 * Requests still without an answer when the bench stops waiting (the drain bound) are failures of
 * unknown outcome: the gateway may have written them. Counted here, and never again if the answer
 * comes later, so the delivery proof allows their rows (ambiguous) instead of finding rows that
 * were neither acknowledged nor ambiguous.
 */
const UNANSWERED_KEY = 'no answer within the drain bound';
function countUnanswered(): void {
  for (const request of pending) {
    request.counted = true;
    recorder.onOutcome({ ok: false, key: UNANSWERED_KEY, eventsAcked: 0, latencyMs: 0, serviceMs: 0 }, request.events, nowMs());
  }
  pending.clear();
}

async function runPhase(message: Extract<ToWorker, { type: 'phase' }>): Promise<void> {
  phase = message.phase;
  stop = false;
  if (t0 === 0) {
    t0 = message.t0;
    intervalIndex = secondOfRun();
    scheduleTick();
  }
  const inflight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  let result;
  if (message.model === 'open') {
    result = await runOpenLoop({
      profile: message.profile,
      startAtMs: message.startAtMs,
      now: nowMs,
      shouldStop: () => stop,
      dispatch: (_i, intended) => track(fire(intended)),
    });
  } else {
    result = await runClosedLoop({
      profile: message.profile,
      startAtMs: message.startAtMs,
      now: nowMs,
      thinkMs: message.thinkMs,
      shouldStop: () => stop,
      iterate: () => fire(nowMs()),
    });
  }
  // Wait for the answers still out, within the drain bound.
  const deadline = nowMs() + message.drainMs;
  while (inflight.size > 0 && nowMs() < deadline) {
    await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, 100))]);
  }
  const undrained = inflight.size;
  countUnanswered();
  flush();
  post({ type: 'phase-done', phase: message.phase, dispatched: result.dispatched, intended: result.intended, stoppedEarly: result.stoppedEarly, undrained });
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'phase') void runPhase(message);
  else if (message.type === 'stop') stop = true;
  else if (message.type === 'close') {
    clearTimeout(ticker);
    void target.close().finally(() => {
      post({ type: 'closed' });
      port.close();
    });
  }
});

// No top-level await: this module is loaded with require() (see load-worker.cjs).
target.open().then(
  () => post({ type: 'ready' }),
  (error: unknown) => post({ type: 'open-failed', message: (error as Error).message }),
);
