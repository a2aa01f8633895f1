import { describe, expect, it } from 'vitest';
import { ERROR_CODES, FloodgateError, httpStatusOf, isRetriable, retry, type RetryOptions } from '../src/index.ts';

const instant = (log: unknown[] = []): RetryOptions => ({
  delayMs: (attempt) => 10 * (attempt + 1),
  wait: async () => {},
  onRetry: (error, attempt, delayMs) => void log.push([attempt, delayMs, (error as Error).message]),
});

describe('retry', () => {
  it('retries client-library errors and retriable FloodgateErrors until the operation succeeds', async () => {
    const log: unknown[] = [];
    const failures = [new Error('ECONNREFUSED'), new FloodgateError('KAFKA_UNAVAILABLE', 'down', { retriable: true })];
    const result = await retry(async (attempt) => {
      const failure = failures[attempt];
      if (failure) throw failure;
      return attempt;
    }, instant(log));
    expect(result).toBe(2);
    expect(log).toEqual([
      [0, 10, 'ECONNREFUSED'],
      [1, 20, 'down'],
    ]);
  });

  it('stops at once on a FloodgateError that says retriable: false', async () => {
    const log: unknown[] = [];
    let calls = 0;
    const error = new FloodgateError('CONFIG_INVALID', 'bad');
    await expect(retry(async () => (calls++, Promise.reject(error)), instant(log))).rejects.toBe(error);
    expect(calls).toBe(1);
    expect(log).toEqual([]);
  });

  it('stops at once on a programmer error, whatever the retriable option says', async () => {
    let calls = 0;
    const error = new TypeError('x is not a function');
    await expect(retry(async () => (calls++, Promise.reject(error)), { ...instant(), retriable: () => true })).rejects.toBe(error);
    expect(calls).toBe(1);
  });

  it('stops when the signal aborted, and when onRetry throws', async () => {
    const controller = new AbortController();
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          controller.abort();
          throw new Error('late');
        },
        { ...instant(), signal: controller.signal },
      ),
    ).rejects.toThrow('late');
    expect(calls).toBe(1);
    const giveUp = new FloodgateError('KAFKA_COMMIT_FAILED', 'gave up');
    await expect(
      retry(() => Promise.reject(new Error('again')), {
        ...instant(),
        onRetry: (_error, attempt) => {
          if (attempt >= 2) throw giveUp;
        },
      }),
    ).rejects.toBe(giveUp);
  });

  it('isRetriable reads retriable of our errors only', () => {
    expect(isRetriable(new FloodgateError('NATS_UNAVAILABLE', 'x', { retriable: true }))).toBe(true);
    expect(isRetriable(new FloodgateError('NATS_UNAVAILABLE', 'x'))).toBe(false);
    expect(isRetriable(new RangeError('x'))).toBe(false);
    expect(isRetriable(Object.assign(new Error('kafkajs'), { retriable: false }))).toBe(true);
  });
});

describe('error codes', () => {
  it('give each code its HTTP status from the one map', () => {
    expect(httpStatusOf('EVENT_INVALID')).toBe(400);
    expect(httpStatusOf('KAFKA_UNAVAILABLE')).toBe(503);
    expect(httpStatusOf('SINK_PARTITION_LOST')).toBe(500);
    for (const code of Object.keys(ERROR_CODES) as Array<keyof typeof ERROR_CODES>) expect(httpStatusOf(code)).toBe(ERROR_CODES[code]);
  });
});
