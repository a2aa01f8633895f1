import type { FloodgateErrorCode } from './codes.ts';

/**
 * One error type for the whole pipeline. Every error carries a stable `code` that a user can look
 * up in docs/errors.md, whether retrying can help, the cause, and context (topic, partition, ...).
 * A retired code is never reused.
 */
export type { FloodgateErrorCode } from './codes.ts';

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

export { ERROR_CODES } from './codes.ts';
export { httpStatusOf, errorBody } from './http.ts';
export { isRetriable, retry } from './retry.ts';
export type { RetryOptions } from './retry.ts';
