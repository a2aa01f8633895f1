import { ArrivalCurve, profileDurationMs, valueAt, type Profile } from './profile.ts';

export interface OpenLoopOptions {
  profile: Profile;
  /** Epoch ms at which t = 0 (all threads share it). */
  startAtMs: number;
  /** Epoch ms, high resolution. */
  now: () => number;
  /** Called for each arrival with its intended epoch time; must not block. */
  dispatch: (index: number, intendedAtMs: number) => void;
  /** Checked every tick; true stops the loop early. */
  shouldStop?: () => boolean;
  /** Longest sleep between ticks; default 1 ms (a late tick catches up, it never loses arrivals). */
  tickMs?: number;
}

export interface LoopResult {
  /** Arrivals dispatched. */
  dispatched: number;
  /** Arrivals the profile asked for by the time the loop ended. */
  intended: number;
  stoppedEarly: boolean;
}

export const nowMs = (): number => performance.timeOrigin + performance.now();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The open model: arrivals follow the profile whatever the target does. Each tick dispatches every
 * arrival that is due by now, stamped with the time the profile intended for it, so a slow
 * target (or a late timer) shows up as latency measured from the intended time, never as a lower
 * offered rate (no coordinated omission).
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<LoopResult> {
  const curve = new ArrivalCurve(options.profile);
  const last = Math.ceil(curve.total - 1e-9);
  const tick = options.tickMs ?? 1;
  let next = 0;
  let stoppedEarly = false;
  const initialWait = options.startAtMs - options.now();
  if (initialWait > 0) await sleep(initialWait);
  while (next < last) {
    if (options.shouldStop?.()) {
      stoppedEarly = true;
      break;
    }
    const t = options.now() - options.startAtMs;
    const due = Math.min(last, Math.floor(curve.countAt(t) + 1e-9) + 1);
    while (next < due) {
      options.dispatch(next, options.startAtMs + curve.timeOfCount(next));
      next++;
    }
    if (next >= last) break;
    const untilNext = options.startAtMs + curve.timeOfCount(next) - options.now();
    await sleep(Math.max(0, Math.min(tick, untilNext)));
  }
  const elapsed = options.now() - options.startAtMs;
  const intended = Math.min(last, Math.floor(curve.countAt(elapsed) + 1e-9) + 1);
  return { dispatched: next, intended, stoppedEarly };
}

export interface ClosedLoopOptions {
  /** Virtual users over time (the profile's values, rounded). */
  profile: Profile;
  startAtMs: number;
  now: () => number;
  /** One iteration of a virtual user: send, wait for the answer. */
  iterate: (vu: number) => Promise<void>;
  /** Pause after each iteration (think time). */
  thinkMs?: number;
  shouldStop?: () => boolean;
}

/**
 * The closed model: `vus` users each send, wait for the answer, think, and send again. The offered
 * rate falls when the target slows down: that is what this model measures (and why the open model
 * is the default).
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<LoopResult> {
  const duration = profileDurationMs(options.profile);
  const initialWait = options.startAtMs - options.now();
  if (initialWait > 0) await sleep(initialWait);
  const maxVus = Math.ceil(Math.max(options.profile.start, ...options.profile.stages.map((s) => s.target)));
  let iterations = 0;
  let stoppedEarly = false;
  const done = () => {
    if (options.shouldStop?.()) {
      stoppedEarly = true;
      return true;
    }
    return options.now() - options.startAtMs >= duration;
  };
  const user = async (vu: number) => {
    while (!done()) {
      const active = Math.round(valueAt(options.profile, options.now() - options.startAtMs));
      if (vu >= active) {
        await sleep(20);
        continue;
      }
      await options.iterate(vu);
      iterations++;
      if (options.thinkMs) await sleep(options.thinkMs);
    }
  };
  await Promise.all(Array.from({ length: maxVus }, (_, vu) => user(vu)));
  return { dispatched: iterations, intended: iterations, stoppedEarly };
}
