import { describe, expect, it } from 'vitest';
import { addFailure, stuckState, type Failing } from '../src/stuck.ts';

const bounds = { afterMs: 60_000, afterAttempts: 20 };
const t0 = Date.parse('2026-01-01T00:00:00.000Z');

function failing(attempts: number): Failing {
  let f: Failing | undefined;
  for (let i = 0; i < attempts; i++) f = addFailure(f, t0 + i * 1000, { step: 'insert', code: 'CLICKHOUSE_UNAVAILABLE', message: `attempt ${i}`, needsOperator: false });
  return f!;
}

describe('stuck state', () => {
  it('counts attempts from the first failure, keeping its time and the last failure', () => {
    expect(failing(3)).toEqual({ since: t0, attempts: 3, step: 'insert', code: 'CLICKHOUSE_UNAVAILABLE', message: 'attempt 2', needsOperator: false });
  });

  it('is not stuck below both bounds, nor without failures', () => {
    expect(stuckState(undefined, t0, bounds)).toBeUndefined();
    expect(stuckState(failing(19), t0 + 59_999, bounds)).toBeUndefined();
  });

  it('is stuck after SINK_STUCK_AFTER_MS of failing', () => {
    expect(stuckState(failing(2), t0 + 60_000, bounds)).toEqual({
      since: '2026-01-01T00:00:00.000Z',
      attempts: 2,
      step: 'insert',
      code: 'CLICKHOUSE_UNAVAILABLE',
      message: 'attempt 1',
      needsOperator: false,
    });
  });

  it('is stuck after SINK_STUCK_AFTER_ATTEMPTS failures, however quick', () => {
    expect(stuckState(failing(20), t0 + 20_000, bounds)?.attempts).toBe(20);
  });
});
