/**
 * The one duration syntax of every option, flag and query parameter: a number with an optional
 * unit, `ms`, `s`, `m`, `h` or `d` (case-insensitive), a plain number being seconds: `500ms`,
 * `10s`, `1.5m`, `2h`, `1d`, `45`. Returns milliseconds, undefined for anything else.
 */
export function parseDurationMs(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = (match[2] ?? 's').toLowerCase() as keyof typeof UNIT_MS;
  return Number(match[1]) * UNIT_MS[unit];
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
