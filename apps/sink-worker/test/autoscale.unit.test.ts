import { describe, expect, it } from 'vitest';
import { decideScale, pruneSamples, type AutoscaleSettings, type LagSample } from '../src/autoscale.ts';
import { RateMeter } from '../src/rate.ts';

const settings: AutoscaleSettings = {
  min: 1,
  max: 4,
  partitions: 6,
  upLag: 10_000,
  upSustainMs: 15_000,
  downLag: 100,
  downSustainMs: 60_000,
  cooldownMs: 30_000,
};

/** One sample every 5 s, ending at `now`. */
const series = (now: number, lags: number[]): LagSample[] => lags.map((lag, i) => ({ at: now - (lags.length - 1 - i) * 5000, lag }));

describe('decideScale (lag -> number of sink processes)', () => {
  const now = 1_000_000;

  it('scales up by one when lag stayed above the threshold for the whole window', () => {
    expect(decideScale(settings, 2, series(now, [20_000, 30_000, 25_000, 40_000]), undefined, now)).toEqual({
      target: 3,
      reason: 'lag 40000 >= 10000 for 15000 ms',
    });
  });

  it('does not scale up on a short spike or a window not yet covered', () => {
    expect(decideScale(settings, 2, series(now, [0, 30_000, 25_000, 40_000]), undefined, now)).toBeUndefined();
    expect(decideScale(settings, 2, series(now, [30_000, 40_000]), undefined, now)).toBeUndefined();
  });

  it('scales down by one only after a long quiet window', () => {
    const quiet = series(now, new Array(13).fill(10));
    expect(decideScale(settings, 3, quiet, undefined, now)).toEqual({ target: 2, reason: 'lag 10 <= 100 for 60000 ms' });
    expect(decideScale(settings, 3, series(now, new Array(10).fill(10)), undefined, now)).toBeUndefined();
    expect(decideScale(settings, 1, quiet, undefined, now)).toBeUndefined();
  });

  it('waits out the cool-down after a change', () => {
    const busy = series(now, [20_000, 30_000, 25_000, 40_000]);
    expect(decideScale(settings, 2, busy, now - 10_000, now)).toBeUndefined();
    expect(decideScale(settings, 2, busy, now - 30_000, now)?.target).toBe(3);
  });

  it('stays within MIN..MAX and never above the partition count', () => {
    const busy = series(now, [20_000, 30_000, 25_000, 40_000]);
    expect(decideScale(settings, 4, busy, undefined, now)).toBeUndefined();
    expect(decideScale({ ...settings, max: 10, partitions: 3 }, 3, busy, undefined, now)).toBeUndefined();
    expect(decideScale(settings, 0, [], undefined, now)).toEqual({ target: 1, reason: 'below the minimum of 1' });
    expect(decideScale(settings, 6, [], now, now)).toEqual({ target: 4, reason: 'above the maximum of 4' });
  });

  it('keeps only the samples a decision can use', () => {
    const samples = series(now, new Array(100).fill(1));
    expect(pruneSamples(samples, now, settings).length).toBeLessThan(samples.length);
    expect(pruneSamples(samples, now, settings).at(-1)).toEqual(samples.at(-1));
  });
});

describe('RateMeter', () => {
  it('averages over the window and forgets old seconds', () => {
    let now = 100_000;
    const meter = new RateMeter(10, () => now);
    meter.add(500);
    now += 1000;
    meter.add(500);
    expect(meter.perSecond()).toBe(100);
    now += 20_000;
    expect(meter.perSecond()).toBe(0);
  });
});
