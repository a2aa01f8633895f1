import { readFileSync } from 'node:fs';
import { FloodgateError } from '@floodgate/errors';
import { parseDuration } from './guard.ts';
import type { Profile } from './profile.ts';

/**
 * The scenarios of the load-test reports, as profiles: constant arrival rate, the "wave" (a ramp
 * to N over 90 s), the "storm" (0 to N in 8 s, then hold), the long "soak", and custom stages from
 * a file. find-max is not a profile: the runner steps it.
 */

export function constantProfile(rate: number, durationMs: number): Profile {
  positive('--rate', rate);
  return { start: rate, stages: [{ durationMs, target: rate }] };
}

export function waveProfile(to: number, rampMs = 90_000, holdMs = 30_000, downMs = 0): Profile {
  positive('--to', to);
  const stages = [{ durationMs: rampMs, target: to }];
  if (holdMs > 0) stages.push({ durationMs: holdMs, target: to });
  if (downMs > 0) stages.push({ durationMs: downMs, target: 0 });
  return { start: 0, stages };
}

export function stormProfile(to: number, rampMs = 8_000, holdMs = 30_000): Profile {
  positive('--to', to);
  const stages = [{ durationMs: rampMs, target: to }];
  if (holdMs > 0) stages.push({ durationMs: holdMs, target: to });
  return { start: 0, stages };
}

export const soakProfile = constantProfile;

function positive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new FloodgateError('CONFIG_INVALID', `${name} must be a number > 0 (got ${value})`);
}

/** What a scenario file may set besides its stages; command-line flags win. */
export interface ScenarioFileOptions {
  target?: 'http' | 'ws';
  batch?: number;
  gzip?: boolean;
  format?: 'json' | 'ndjson';
  connections?: number;
  window?: number;
  threads?: number;
  eventBytes?: number;
  mix?: string;
  thinkMs?: number;
}

export interface ScenarioFile {
  name: string;
  model: 'open' | 'closed';
  profile: Profile;
  options: ScenarioFileOptions;
}

/**
 * A scenario file (JSON):
 * `{"name": "spike", "model": "open", "start": 0, "stages": [{"duration": "10s", "target": 200}, ...], "options": {"batch": 10}}`.
 * `target` is requests (messages) per second in the open model, virtual users in the closed one.
 */
export function parseScenarioFile(text: string, source = 'scenario file'): ScenarioFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new FloodgateError('CONFIG_INVALID', `${source} is not JSON: ${(error as Error).message}`);
  }
  const bad = (why: string) => new FloodgateError('CONFIG_INVALID', `${source}: ${why}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('must be a JSON object with "stages"');
  const o = raw as Record<string, unknown>;
  const known = new Set(['name', 'model', 'start', 'stages', 'options', 'description']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw bad(`unknown key ${JSON.stringify(k)} (known: ${[...known].join(', ')})`);
  const model = o.model ?? 'open';
  if (model !== 'open' && model !== 'closed') throw bad('"model" is "open" or "closed"');
  if (!Array.isArray(o.stages) || o.stages.length === 0) throw bad('"stages" must be a non-empty array of {"duration", "target"}');
  const stages = o.stages.map((s, i) => {
    const stage = s as { duration?: unknown; target?: unknown };
    if (typeof stage?.target !== 'number' || stage.target < 0) throw bad(`stages[${i}].target must be a number ≥ 0`);
    if (typeof stage.duration !== 'string' && typeof stage.duration !== 'number') throw bad(`stages[${i}].duration must be like "30s"`);
    const durationMs = parseDuration(stage.duration);
    if (durationMs <= 0) throw bad(`stages[${i}].duration must be > 0`);
    return { durationMs, target: stage.target };
  });
  const start = o.start ?? 0;
  if (typeof start !== 'number' || start < 0) throw bad('"start" must be a number ≥ 0');
  const options = (o.options ?? {}) as ScenarioFileOptions;
  if (typeof options !== 'object' || Array.isArray(options)) throw bad('"options" must be an object');
  const knownOptions = new Set(['target', 'batch', 'gzip', 'format', 'connections', 'window', 'threads', 'eventBytes', 'mix', 'thinkMs']);
  for (const k of Object.keys(options)) if (!knownOptions.has(k)) throw bad(`unknown option ${JSON.stringify(k)} (known: ${[...knownOptions].join(', ')})`);
  return { name: typeof o.name === 'string' ? o.name : 'file', model, profile: { start, stages }, options };
}

export function readScenarioFile(path: string): ScenarioFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new FloodgateError('CONFIG_FILE_UNREADABLE', `cannot read scenario file ${path}: ${(error as Error).message}`);
  }
  return parseScenarioFile(text, path);
}
