import { FloodgateError } from '@floodgate/errors';
import { isLoopbackHost, parseDurationMs } from '@floodgate/config';

/** The one loopback test (libs/config), re-exported for the bench's callers. */
export { isLoopbackHost };

/**
 * Refuses a target off this machine unless the operator said `--allow-remote`: a load test aimed at
 * the wrong host is an attack on someone else.
 */
export function checkTarget(url: string, allowRemote: boolean): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FloodgateError('CONFIG_INVALID', `--url ${url} is not a URL`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) {
    throw new FloodgateError('CONFIG_INVALID', `--url ${url}: use http(s):// or ws(s)://`);
  }
  if (!allowRemote && !isLoopbackHost(parsed.hostname)) {
    throw new FloodgateError(
      'CONFIG_INVALID',
      `--url ${url} is not on this machine (loopback: 127.0.0.0/8, ::1, localhost); pass --allow-remote to load a remote host you own`,
    );
  }
  return parsed;
}

/** "10s", "2m", "1h", "500ms", "1.5m" or plain seconds (the one syntax, parseDurationMs) → whole milliseconds. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') return text * 1000;
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new FloodgateError('CONFIG_INVALID', `${JSON.stringify(text)} is not a duration (examples: 500ms, 10s, 2m, 1h)`);
  return Math.round(ms);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 120) return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
  if (s < 3600) return `${(s / 60).toFixed(s % 60 === 0 ? 0 : 1)}m`;
  return `${(s / 3600).toFixed(s % 3600 === 0 ? 0 : 1)}h`;
}

export const ONE_HOUR_MS = 3_600_000;
/** The hard ceiling even with --allow-long. */
export const MAX_LONG_MS = 24 * ONE_HOUR_MS;

/** A run's planned length must stay within --max-duration (≤ 1 h, or ≤ 24 h with --allow-long). */
export function checkDuration(plannedMs: number, maxMs: number, allowLong: boolean): void {
  const ceiling = allowLong ? MAX_LONG_MS : ONE_HOUR_MS;
  if (maxMs > ceiling) {
    throw new FloodgateError(
      'CONFIG_INVALID',
      `--max-duration ${formatDuration(maxMs)} is above ${formatDuration(ceiling)}${allowLong ? '' : '; pass --allow-long for up to 24h'}`,
    );
  }
  if (plannedMs > maxMs) {
    throw new FloodgateError(
      'CONFIG_INVALID',
      `the scenario lasts ${formatDuration(plannedMs)}, longer than --max-duration ${formatDuration(maxMs)}`,
    );
  }
  if (plannedMs <= 0) throw new FloodgateError('CONFIG_INVALID', 'the scenario has no duration');
}
