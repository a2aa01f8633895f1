import type { StuckInfo } from '@floodgate/sink-protocol';

/**
 * The failures of a partition's current batch (or start-up) since it last made progress: the
 * published StuckInfo, with `since` kept as ms since the epoch until it is published.
 */
export type Failing = Omit<StuckInfo, 'since'> & { since: number };

/** When a failing batch counts as stuck (SINK_STUCK_AFTER_MS, SINK_STUCK_AFTER_ATTEMPTS). */
export interface StuckBounds {
  afterMs: number;
  afterAttempts: number;
}

/** Adds one failure to the record (a new record when there was none). */
export function addFailure(previous: Failing | undefined, now: number, failure: Omit<Failing, 'since' | 'attempts'>): Failing {
  return { ...failure, since: previous?.since ?? now, attempts: (previous?.attempts ?? 0) + 1 };
}

/**
 * The stuck state shown in `floodgate status` and counted by `floodgate_sink_partition_stuck`:
 * the batch has failed for at least `afterMs`, or at least `afterAttempts` times. Pure.
 */
export function stuckState(failing: Failing | undefined, now: number, bounds: StuckBounds): StuckInfo | undefined {
  if (!failing) return undefined;
  if (now - failing.since < bounds.afterMs && failing.attempts < bounds.afterAttempts) return undefined;
  return failingState(failing);
}

/** The failing batch as published (stuck or not): since when, attempts, code, cause, class. Pure. */
export function failingState(failing: Failing): StuckInfo {
  return {
    since: new Date(failing.since).toISOString(),
    attempts: failing.attempts,
    step: failing.step,
    code: failing.code,
    message: failing.message.slice(0, 500),
    needsOperator: failing.needsOperator,
    ...(failing.cause ? { cause: failing.cause } : {}),
  };
}
