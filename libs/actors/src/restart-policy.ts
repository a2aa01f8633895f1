import { backoffDelay, type BackoffOptions } from './backoff.ts';

/**
 * When a supervised thing (an actor, a process) fails: restart it after a backoff delay, unless it
 * failed more than `maxRestarts` times within `withinMs`, in which case the supervisor gives up
 * and escalates. A child that stayed up for `resetAfterMs` starts again from the first delay.
 */
export interface RestartPolicyOptions {
  maxRestarts: number;
  withinMs: number;
  backoff: BackoffOptions;
  /** Uptime after which the backoff starts over; default `withinMs`. */
  resetAfterMs?: number;
}

export type RestartDecision = { restart: true; delayMs: number; attempt: number } | { restart: false; failures: number };

/** The bookkeeping of one child's failures. Pure apart from the injected clock and random. */
export class RestartTracker {
  private failures: number[] = [];
  private attempt = 0;
  private startedAt: number;

  constructor(
    private readonly policy: RestartPolicyOptions,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.startedAt = now();
  }

  /** The child (re)started now. */
  started(): void {
    this.startedAt = this.now();
  }

  /** The child failed now: restart (after how long) or give up? */
  failed(): RestartDecision {
    const now = this.now();
    const resetAfter = this.policy.resetAfterMs ?? this.policy.withinMs;
    if (now - this.startedAt >= resetAfter) this.attempt = 0;
    this.failures = this.failures.filter((t) => now - t < this.policy.withinMs);
    this.failures.push(now);
    if (this.failures.length > this.policy.maxRestarts) {
      return { restart: false, failures: this.failures.length };
    }
    const attempt = this.attempt++;
    return { restart: true, delayMs: backoffDelay(this.policy.backoff, attempt, this.random), attempt };
  }
}
