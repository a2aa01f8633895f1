import { ERROR_CODES, type FloodgateErrorCode } from './codes.ts';

/** The HTTP status of an error code (its entry in ERROR_CODES, libs/errors/src/codes.ts). */
export function httpStatusOf(code: FloodgateErrorCode): number {
  return ERROR_CODES[code];
}

/** The one error body shape of the API: `{"error": {"code", "message", "details"?}}`. */
export function errorBody(code: FloodgateErrorCode, message: string, details?: unknown): string {
  return JSON.stringify({ error: details === undefined ? { code, message } : { code, message, details } });
}
