import { setTimeout as delayFor } from 'node:timers/promises';
import { backoffDelay } from '@floodgate/actors';
import { retry } from '@floodgate/errors';
import type { Logger } from '@floodgate/logging';

/** How long a start-up step keeps retrying by default before the process gives up. */
export const START_TIMEOUT_MS = 120_000;

/**
 * Runs a start-up step until its server answers: a process may start before Kafka, NATS or
 * ClickHouse is up (or while a cluster is still settling), and must then wait instead of exiting.
 * Each failure is logged at warn with the attempt; a failure that is not retriable (a programmer
 * error, `retriable: false`: bad credentials, bad configuration) stops at once, and so does any
 * failure after `timeoutMs`.
 */
export async function untilReady<T>(what: string, logger: Logger, step: () => Promise<T>, options: { timeoutMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? START_TIMEOUT_MS);
  return retry(step, {
    delayMs: (attempt) => backoffDelay({ initialMs: 250, maxMs: 5000 }, attempt),
    onRetry: (error, attempt, delay) => {
      if (Date.now() > deadline) throw error;
      logger.warn({ err: error, attempt, delayMs: delay }, `${what} failed; retrying`);
    },
    // A timer that keeps the process alive: nothing else may yet, and a run-dry event loop would
    // end the process with code 0 mid-start.
    wait: (ms) => delayFor(ms),
  });
}
