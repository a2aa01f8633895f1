import { isFloodgateError, isProgrammerError } from './index.ts';

/**
 * Whether another attempt can help: never after a programmer error (TypeError, RangeError,
 * SyntaxError: the same code fails the same way), nor after a FloodgateError that says
 * `retriable: false`. Errors of client libraries (kafkajs, NATS, ClickHouse) carry no promise of
 * ours and count as retriable; a caller that knows better passes its own `retriable`.
 */
export function isRetriable(error: unknown): boolean {
  if (isProgrammerError(error)) return false;
  if (isFloodgateError(error)) return error.retriable;
  return true;
}

export interface RetryOptions {
  /** The wait before the attempt after failure number `attempt` (0-based), e.g. `backoffDelay`. */
  delayMs(attempt: number): number;
  /** Waits `ms`; rejects to stop retrying (e.g. `sleep(ms, signal)` rejecting once the signal aborts). */
  wait(ms: number): Promise<void>;
  /** Stops at once, rethrowing the failure, once this is aborted (the owner is stopping). */
  signal?: AbortSignal;
  /**
   * Called for each failure that will be retried, before the wait: log it, count it. It may throw
   * to stop retrying with that error (e.g. after too many attempts, or a failure it recognises).
   */
  onRetry?(error: unknown, attempt: number, delayMs: number): void | Promise<void>;
  /** Which failures are worth another attempt; default `isRetriable`. Never consulted for programmer errors. */
  retriable?(error: unknown): boolean;
}

/**
 * Runs `operation` until it succeeds, retrying failures with the caller's backoff. Stops (throws
 * the failure) on a programmer error, on a failure that is not retriable (`retriable === false`),
 * when `signal` aborted, or when `onRetry` or `wait` throws.
 */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const retriable = options.retriable ?? isRetriable;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (options.signal?.aborted || isProgrammerError(error) || !retriable(error)) throw error;
      const delay = options.delayMs(attempt);
      await options.onRetry?.(error, attempt, delay);
      await options.wait(delay);
    }
  }
}
