/**
 * Exponential backoff with jitter (the "full jitter" of the AWS architecture blog by default):
 * attempt 0 waits up to `initialMs`, each later attempt up to `multiplier` times more, never more
 * than `maxMs`. Jitter spreads the retries of many partitions or processes that failed at the same
 * moment, so a recovering ClickHouse is not hit by all of them at once.
 */
export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. */
  initialMs: number;
  /** Ceiling of any delay, in ms. */
  maxMs: number;
  /** Growth per attempt; default 2. */
  multiplier?: number;
  /**
   * `full`: uniform in [0, ceiling]; `equal`: uniform in [ceiling/2, ceiling]; `none`: the
   * ceiling itself. Default `full`.
   */
  jitter?: 'full' | 'equal' | 'none';
}

/** The delay before retry number `attempt` (0-based). `random` returns [0, 1), injectable for tests. */
export function backoffDelay(options: BackoffOptions, attempt: number, random: () => number = Math.random): number {
  const multiplier = options.multiplier ?? 2;
  const exponent = Math.max(0, Math.min(attempt, 64));
  const ceiling = Math.min(options.maxMs, options.initialMs * multiplier ** exponent);
  switch (options.jitter ?? 'full') {
    case 'none':
      return Math.round(ceiling);
    case 'equal':
      return Math.round(ceiling / 2 + random() * (ceiling / 2));
    default:
      return Math.round(random() * ceiling);
  }
}

/**
 * Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. The timer does
 * not keep the process alive.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref?.();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
