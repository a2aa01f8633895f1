/**
 * The supervisor's auto mode: from samples of the group's total consumer lag, grow or shrink the
 * number of sink processes by one. Pure; unit-tested. Thresholds are documented in docs/sink.md.
 */
export interface AutoscaleSettings {
  min: number;
  max: number;
  /** Partitions of the topic: more processes than partitions would sit idle. */
  partitions: number;
  upLag: number;
  upSustainMs: number;
  downLag: number;
  downSustainMs: number;
  cooldownMs: number;
}

export interface LagSample {
  at: number;
  lag: number;
}

export interface ScaleDecision {
  target: number;
  reason: string;
}

/**
 * The lag satisfied `test` continuously for at least `windowMs`: walking back from the newest
 * sample, every one passes until one that is at least `windowMs` old.
 */
function sustained(samples: readonly LagSample[], now: number, windowMs: number, test: (lag: number) => boolean): boolean {
  for (let i = samples.length - 1; i >= 0; i--) {
    const sample = samples[i]!;
    if (!test(sample.lag)) return false;
    if (now - sample.at >= windowMs) return true;
  }
  return false;
}

export function decideScale(
  settings: AutoscaleSettings,
  current: number,
  samples: readonly LagSample[],
  lastChangeAt: number | undefined,
  now: number,
): ScaleDecision | undefined {
  const max = Math.max(settings.min, Math.min(settings.max, settings.partitions));
  if (current < settings.min) return { target: settings.min, reason: `below the minimum of ${settings.min}` };
  if (current > max) return { target: max, reason: `above the maximum of ${max}` };
  if (lastChangeAt !== undefined && now - lastChangeAt < settings.cooldownMs) return undefined;
  const lag = samples.at(-1)?.lag;
  if (current < max && sustained(samples, now, settings.upSustainMs, (l) => l >= settings.upLag)) {
    return { target: current + 1, reason: `lag ${lag} >= ${settings.upLag} for ${settings.upSustainMs} ms` };
  }
  if (current > settings.min && sustained(samples, now, settings.downSustainMs, (l) => l <= settings.downLag)) {
    return { target: current - 1, reason: `lag ${lag} <= ${settings.downLag} for ${settings.downSustainMs} ms` };
  }
  return undefined;
}

/** Keeps the samples a decision can still look at. */
export function pruneSamples(samples: LagSample[], now: number, settings: Pick<AutoscaleSettings, 'upSustainMs' | 'downSustainMs'>): LagSample[] {
  const keep = Math.max(settings.upSustainMs, settings.downSustainMs) * 2 + 1000;
  return samples.filter((s) => now - s.at <= keep);
}
