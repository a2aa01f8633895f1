import { describe, expect, it } from 'vitest';
import { ArrivalCurve, valueAt } from '../src/profile.ts';
import { nowMs, runClosedLoop, runOpenLoop } from '../src/scheduler.ts';
import { constantProfile, stormProfile, waveProfile } from '../src/scenarios.ts';

describe('arrival curve', () => {
  it('integrates a ramp and inverts it exactly', () => {
    const curve = new ArrivalCurve(waveProfile(100, 10_000, 5_000));
    // 0 → 100/s over 10 s is 500 arrivals, then 100/s for 5 s is 500 more.
    expect(curve.total).toBeCloseTo(1000, 6);
    expect(curve.countAt(10_000)).toBeCloseTo(500, 6);
    for (const n of [1, 50, 499, 500, 777, 999]) expect(curve.countAt(curve.timeOfCount(n))).toBeCloseTo(n, 6);
    // On a linear ramp from 0, arrival n is due at sqrt(2 n / slope).
    expect(curve.timeOfCount(50)).toBeCloseTo(Math.sqrt((2 * 50) / 10) * 1000, 6);
  });

  it('gives the storm its shape: 0 to N in 8 s, then N', () => {
    const storm = stormProfile(800, 8000, 4000);
    expect(valueAt(storm, 0)).toBe(0);
    expect(valueAt(storm, 4000)).toBe(400);
    expect(valueAt(storm, 8000)).toBe(800);
    expect(valueAt(storm, 11_000)).toBe(800);
    expect(new ArrivalCurve(storm).total).toBeCloseTo(3200 + 3200, 6);
  });
});

describe('open-model scheduler against a dry target', () => {
  it('holds a constant target rate within 2 %, overall and in every second', async () => {
    const rate = 2000;
    const seconds = 3;
    const startAtMs = nowMs() + 50;
    const perSecond = new Array<number>(seconds).fill(0);
    let lastIntended = -Infinity;
    let monotonic = true;
    const result = await runOpenLoop({
      profile: constantProfile(rate, seconds * 1000),
      startAtMs,
      now: nowMs,
      // A dry target: answers at once, costs nothing.
      dispatch: (_i, intended) => {
        if (intended < lastIntended) monotonic = false;
        lastIntended = intended;
        const second = Math.floor((nowMs() - startAtMs) / 1000);
        perSecond[Math.min(seconds - 1, Math.max(0, second))]! += 1;
        void Promise.resolve();
      },
    });
    const elapsedS = (nowMs() - startAtMs) / 1000;
    expect(result.dispatched).toBe(rate * seconds);
    expect(monotonic).toBe(true);
    // The run took the time it should: achieved rate within 2 % of the target.
    expect(Math.abs(result.dispatched / elapsedS - rate) / rate).toBeLessThan(0.02);
    for (const count of perSecond) expect(Math.abs(count - rate) / rate).toBeLessThan(0.02);
  });

  it('stamps late arrivals with their intended time (no coordinated omission)', async () => {
    const startAtMs = nowMs() + 20;
    const stamps: { intended: number; actual: number }[] = [];
    let blocked = false;
    await runOpenLoop({
      profile: constantProfile(1000, 600),
      startAtMs,
      now: nowMs,
      dispatch: (_i, intended) => {
        stamps.push({ intended, actual: nowMs() });
        if (!blocked && intended - startAtMs >= 200) {
          blocked = true;
          // The generator stalls for 150 ms (a GC pause, a busy core).
          const until = nowMs() + 150;
          while (nowMs() < until);
        }
      },
    });
    expect(stamps).toHaveLength(600);
    // Arrival k is intended at k ms whatever happened: the stall does not thin out the schedule...
    stamps.forEach((s, k) => expect(s.intended - startAtMs).toBeCloseTo(k, 6));
    // ...and the arrivals due during the stall went out late, so their latency will show it.
    // (the first one due during the stall waited ~150 ms, later ones less: ~100 waited over 50 ms).
    const lateness = stamps.map((s) => s.actual - s.intended);
    expect(Math.max(...lateness)).toBeGreaterThan(140);
    expect(lateness.filter((ms) => ms > 50).length).toBeGreaterThan(80);
  });

  it('follows a ramp: arrivals per second grow with the target', async () => {
    const startAtMs = nowMs() + 20;
    const perSecond = [0, 0];
    const result = await runOpenLoop({
      profile: { start: 0, stages: [{ durationMs: 2000, target: 2000 }] },
      startAtMs,
      now: nowMs,
      dispatch: (_i, intended) => {
        perSecond[Math.min(1, Math.floor((intended - startAtMs) / 1000))]! += 1;
      },
    });
    expect(result.dispatched).toBe(2000);
    expect(perSecond[0]).toBe(500);
    expect(perSecond[1]).toBe(1500);
  });

  it('stops early when asked', async () => {
    const startAtMs = nowMs();
    let n = 0;
    const result = await runOpenLoop({ profile: constantProfile(1000, 10_000), startAtMs, now: nowMs, dispatch: () => n++, shouldStop: () => n >= 100 });
    expect(result.stoppedEarly).toBe(true);
    expect(result.dispatched).toBeLessThan(200);
  });
});

describe('closed-model loop', () => {
  it('keeps each virtual user to one request at a time', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const result = await runClosedLoop({
      profile: { start: 5, stages: [{ durationMs: 300, target: 5 }] },
      startAtMs: nowMs(),
      now: nowMs,
      iterate: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 10));
        inFlight--;
      },
    });
    expect(maxInFlight).toBe(5);
    // 5 users × ~300 ms / ~10 ms per iteration.
    expect(result.dispatched).toBeGreaterThan(50);
    expect(result.dispatched).toBeLessThan(200);
  });
});
