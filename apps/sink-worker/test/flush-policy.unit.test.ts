import { describe, expect, it } from 'vitest';
import { batchSize, flushDue, msUntilDue } from '../src/flush-policy.ts';

const limits = { maxRows: 100, maxBytes: 1000, maxAgeMs: 500 };

describe('flush policy', () => {
  it('is never due for an empty buffer', () => {
    expect(flushDue({ rows: 0, bytes: 0, oldestAt: undefined }, limits, 10_000)).toBeUndefined();
    expect(msUntilDue({ rows: 0, bytes: 0, oldestAt: undefined }, limits, 10_000)).toBeUndefined();
  });

  it('flushes on rows, then bytes, then age', () => {
    expect(flushDue({ rows: 100, bytes: 5000, oldestAt: 0 }, limits, 10_000)).toBe('rows');
    expect(flushDue({ rows: 99, bytes: 1000, oldestAt: 0 }, limits, 10_000)).toBe('bytes');
    expect(flushDue({ rows: 1, bytes: 10, oldestAt: 1000 }, limits, 1499)).toBeUndefined();
    expect(flushDue({ rows: 1, bytes: 10, oldestAt: 1000 }, limits, 1500)).toBe('age');
  });

  it('tells how long until the age limit', () => {
    expect(msUntilDue({ rows: 3, bytes: 30, oldestAt: 1000 }, limits, 1200)).toBe(300);
    expect(msUntilDue({ rows: 3, bytes: 30, oldestAt: 1000 }, limits, 9000)).toBe(0);
  });

  it('sizes a batch within both limits and never below one row', () => {
    expect(batchSize(new Array(250).fill(1), limits)).toBe(100);
    expect(batchSize(new Array(50).fill(30), limits)).toBe(33); // 33 * 30 = 990 <= 1000 < 34 * 30
    expect(batchSize([5000, 1, 1], limits)).toBe(1); // a row larger than maxBytes still goes, alone
    expect(batchSize([10, 20], limits)).toBe(2);
    expect(batchSize([], limits)).toBe(0);
  });
});
