import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stdout (or `destination`, e.g. `process.stderr` for a CLI command whose
 * stdout is its output). `LOG_LEVEL` picks the level (default info). Callers add `trace_id` to a
 * child logger when a trace is active, so logs join up with traces.
 */
export function createLogger(service: string, options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const settings: LoggerOptions = {
    level: process.env.LOG_LEVEL ?? 'info',
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    ...options,
  };
  return destination ? pino(settings, destination) : pino(settings);
}
