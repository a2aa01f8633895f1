/**
 * One error type for the whole pipeline. Every error carries a stable `code` that a user can look
 * up in docs/errors.md, whether retrying can help, the cause, and context (topic, partition, ...).
 * A retired code is never reused.
 */
export type FloodgateErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_FILE_UNREADABLE'
  | 'BODY_MALFORMED_JSON'
  | 'BODY_EMPTY'
  | 'EVENT_INVALID'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNSUPPORTED_ENCODING'
  | 'BODY_BAD_ENCODING'
  | 'BODY_TOO_DEEP'
  | 'TOO_MANY_EVENTS'
  | 'EVENT_TOO_LARGE'
  | 'UNAUTHORIZED'
  | 'RATE_LIMITED'
  | 'METHOD_NOT_ALLOWED'
  | 'WS_MESSAGE_TOO_LARGE'
  | 'WS_TOO_MANY_UNACKED'
  | 'KAFKA_UNAVAILABLE'
  | 'OVERLOADED'
  | 'NOT_FOUND'
  | 'INTERNAL'
  | 'CLICKHOUSE_UNAVAILABLE'
  | 'CLICKHOUSE_REJECTED'
  | 'STACK_START_FAILED'
  | 'STACK_DEPENDENCY_MISSING'
  | 'SHUTDOWN_TIMEOUT'
  | 'NATS_UNAVAILABLE'
  | 'NATS_AUTH_FAILED'
  | 'CONTROL_NO_REPLY'
  | 'CONTROL_FAILED'
  | 'SINK_NOT_FOUND'
  | 'SINK_PARTITION_LOST'
  | 'SINK_STATE_UNAVAILABLE'
  | 'SINK_BATCH_STATE_LOST'
  | 'SINK_BATCH_RECORD_INVALID'
  | 'SINK_BATCH_RECORD_CHANGED'
  | 'KAFKA_COMMIT_FAILED'
  | 'EVENT_UNREADABLE'
  | 'BENCH_CEILING_FAILED';

export interface FloodgateErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  context?: Record<string, unknown>;
  details?: unknown;
}

export class FloodgateError extends Error {
  readonly code: FloodgateErrorCode;
  readonly retriable: boolean;
  readonly context: Readonly<Record<string, unknown>>;
  /** Shown to API clients as `error.details`; must never hold secrets. */
  readonly details: unknown;

  constructor(code: FloodgateErrorCode, message: string, options: FloodgateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FloodgateError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = options.context ?? {};
    this.details = options.details;
  }
}

export function isFloodgateError(value: unknown): value is FloodgateError {
  return value instanceof FloodgateError;
}

/** Programmer errors are never worth a retry (the kafkajs rule). */
export function isProgrammerError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError;
}

export { httpStatusOf, errorBody } from './http.ts';
