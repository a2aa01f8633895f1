/**
 * Load profiles: piecewise-linear rate (open model, arrivals per second) or virtual-user count
 * (closed model) over time, in the style of k6's ramping executors. A stage ramps linearly from the
 * previous stage's end value (or `start`) to its `target` over `durationMs`.
 */
export interface Stage {
  durationMs: number;
  target: number;
}

export interface Profile {
  start: number;
  stages: Stage[];
}

export function profileDurationMs(profile: Profile): number {
  return profile.stages.reduce((sum, s) => sum + s.durationMs, 0);
}

/** The value (rate or VUs) at `tMs` after the start; the last target after the end. */
export function valueAt(profile: Profile, tMs: number): number {
  let from = profile.start;
  let t = Math.max(0, tMs);
  for (const stage of profile.stages) {
    if (t < stage.durationMs) return from + ((stage.target - from) * t) / stage.durationMs;
    t -= stage.durationMs;
    from = stage.target;
  }
  return from;
}

/** Multiplies every value (a thread's share of the rate, say). */
export function scaleProfile(profile: Profile, factor: number): Profile {
  return { start: profile.start * factor, stages: profile.stages.map((s) => ({ durationMs: s.durationMs, target: s.target * factor })) };
}

/** The peak value, for the summary ("target rate"). */
export function peakOf(profile: Profile): number {
  return Math.max(profile.start, ...profile.stages.map((s) => s.target));
}

/**
 * Arrivals of an open-model rate profile: N(t) = ∫ rate, and its inverse, so the k-th arrival gets
 * an exact intended time however late the timer that dispatches it fires.
 */
export class ArrivalCurve {
  /** Cumulative arrivals at the start of each stage. */
  private readonly startCounts: number[] = [];
  private readonly startTimes: number[] = [];
  private readonly startRates: number[] = [];
  readonly total: number;
  readonly durationMs: number;

  constructor(private readonly profile: Profile) {
    let count = 0;
    let time = 0;
    let rate = profile.start;
    for (const stage of profile.stages) {
      this.startCounts.push(count);
      this.startTimes.push(time);
      this.startRates.push(rate);
      count += ((rate + stage.target) / 2) * (stage.durationMs / 1000);
      time += stage.durationMs;
      rate = stage.target;
    }
    this.total = count;
    this.durationMs = time;
  }

  /** Expected arrivals in [0, tMs]. */
  countAt(tMs: number): number {
    const t = Math.min(Math.max(0, tMs), this.durationMs);
    for (let i = this.profile.stages.length - 1; i >= 0; i--) {
      if (t >= this.startTimes[i]!) {
        const stage = this.profile.stages[i]!;
        const dt = (t - this.startTimes[i]!) / 1000;
        const r0 = this.startRates[i]!;
        const slope = (stage.target - r0) / (stage.durationMs / 1000);
        return this.startCounts[i]! + r0 * dt + (slope * dt * dt) / 2;
      }
    }
    return 0;
  }

  /** When N(t) reaches n, in ms: arrival k (0-based) is due at timeOfCount(k), so arrival 0 is at 0. */
  timeOfCount(n: number): number {
    if (n <= 0) return 0;
    if (n >= this.total) return this.durationMs;
    let i = this.startCounts.length - 1;
    while (i > 0 && this.startCounts[i]! > n) i--;
    const stage = this.profile.stages[i]!;
    const r0 = this.startRates[i]!;
    const slope = (stage.target - r0) / (stage.durationMs / 1000);
    const need = n - this.startCounts[i]!;
    let dt: number;
    if (Math.abs(slope) < 1e-12) {
      dt = r0 > 0 ? need / r0 : 0;
    } else {
      // slope/2 dt² + r0 dt - need = 0, the root ≥ 0.
      const disc = r0 * r0 + 2 * slope * need;
      dt = (-r0 + Math.sqrt(Math.max(0, disc))) / slope;
    }
    return Math.min(this.startTimes[i]! + dt * 1000, this.startTimes[i]! + stage.durationMs);
  }
}
