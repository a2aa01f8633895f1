import { describe, expect, it } from 'vitest';
import { createHistogram, decodeHistogram, encodeHistogram, percentileCurve, recordMs, summarize } from '../src/histogram.ts';
import { rng } from '../src/payload.ts';

describe('latency histogram', () => {
  it('matches the percentiles of a uniform distribution (1..100 ms) within 0.1 %', () => {
    const h = createHistogram();
    for (let us = 1; us <= 100_000; us++) recordMs(h, us / 1000);
    const s = summarize(h);
    expect(s.count).toBe(100_000);
    const near = (actual: number, expected: number) => expect(Math.abs(actual - expected) / expected).toBeLessThan(0.001);
    near(s.p50, 50);
    near(s.p90, 90);
    near(s.p95, 95);
    near(s.p99, 99);
    near(s.p999, 99.9);
    near(s.max, 100);
    near(s.mean, 50);
  });

  it('matches the quantiles of an exponential distribution within 1 %', () => {
    // Exponential with mean 20 ms: the p-quantile is -20 ln(1 - p).
    const random = rng(42);
    const h = createHistogram();
    for (let i = 0; i < 400_000; i++) recordMs(h, -20 * Math.log(1 - random()));
    const s = summarize(h);
    const q = (p: number) => -20 * Math.log(1 - p);
    for (const [actual, p] of [
      [s.p50, 0.5],
      [s.p90, 0.9],
      [s.p95, 0.95],
      [s.p99, 0.99],
    ] as const) {
      expect(Math.abs(actual - q(p)) / q(p)).toBeLessThan(0.01);
    }
    // p99.9 from 400 samples above it: within 5 %.
    expect(Math.abs(s.p999 - q(0.999)) / q(0.999)).toBeLessThan(0.05);
  });

  it('survives the trip between threads and merges exactly', () => {
    const a = createHistogram();
    const b = createHistogram();
    for (let i = 1; i <= 1000; i++) recordMs(a, i);
    for (let i = 1001; i <= 2000; i++) recordMs(b, i);
    const merged = createHistogram();
    merged.add(decodeHistogram(encodeHistogram(a)));
    merged.add(decodeHistogram(encodeHistogram(b)));
    const s = summarize(merged);
    expect(s.count).toBe(2000);
    expect(Math.abs(s.p50 - 1000) / 1000).toBeLessThan(0.001);
    expect(Math.abs(s.max - 2000) / 2000).toBeLessThan(0.001);
  });

  it('summarises an empty histogram as zeros and draws no curve', () => {
    const h = createHistogram();
    expect(summarize(h)).toEqual({ count: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 });
    expect(percentileCurve(h)).toEqual([]);
  });
});
