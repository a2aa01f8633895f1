import { AssertionError } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this long; default 10 s. */
  timeoutMs?: number;
  /** Pause between attempts; default 100 ms. */
  intervalMs?: number;
  /** What is awaited, for the error message: "event 123 in ClickHouse". */
  description?: string;
}

/**
 * Calls `condition` until it returns a truthy value, and resolves with that value. A throw counts as
 * "not yet" (the last one is reported). After `timeoutMs` it rejects with an error naming what it
 * waited for, how long, and the last error or value. One attempt is always made, and attempts are
 * never run concurrently.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 100;
  const description = options.description ?? 'a condition';
  const started = Date.now();
  let attempts = 0;
  let last: { error: unknown } | { value: unknown } = { value: undefined };
  for (;;) {
    attempts++;
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
      last = { value };
    } catch (error) {
      last = { error };
    }
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) {
      const outcome =
        'error' in last
          ? `last error: ${last.error instanceof Error ? last.error.message : String(last.error)}`
          : `last result: ${JSON.stringify(last.value) ?? String(last.value)}`;
      // A test kit's failure is a failed expectation of the test, reported as one.
      const failure = new AssertionError({ message: `timed out after ${timeoutMs} ms waiting for ${description} (${attempts} attempts; ${outcome})` });
      failure.cause = 'error' in last ? last.error : undefined;
      throw failure;
    }
    await sleep(Math.min(intervalMs, Math.max(0, timeoutMs - elapsed)));
  }
}
