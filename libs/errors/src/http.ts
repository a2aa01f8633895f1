import type { FloodgateErrorCode } from './index.ts';

/** HTTP status of each client-facing code; documented in docs/errors.md. */
const STATUS: Partial<Record<FloodgateErrorCode, number>> = {
  BODY_MALFORMED_JSON: 400,
  BODY_EMPTY: 400,
  EVENT_INVALID: 400,
  BODY_TOO_LARGE: 413,
  BODY_BAD_ENCODING: 400,
  BODY_TOO_DEEP: 400,
  TOO_MANY_EVENTS: 413,
  EVENT_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNSUPPORTED_ENCODING: 415,
  UNAUTHORIZED: 401,
  RATE_LIMITED: 429,
  METHOD_NOT_ALLOWED: 405,
  WS_MESSAGE_TOO_LARGE: 413,
  WS_TOO_MANY_UNACKED: 429,
  NOT_FOUND: 404,
  KAFKA_UNAVAILABLE: 503,
  OVERLOADED: 503,
};

export function httpStatusOf(code: FloodgateErrorCode): number {
  return STATUS[code] ?? 500;
}

/** The one error body shape of the API: `{"error": {"code", "message", "details"?}}`. */
export function errorBody(code: FloodgateErrorCode, message: string, details?: unknown): string {
  return JSON.stringify({ error: details === undefined ? { code, message } : { code, message, details } });
}
