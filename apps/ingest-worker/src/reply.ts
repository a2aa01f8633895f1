/**
 * The reply protocol, in one place (docs/gateway.md): what a request or WebSocket message is
 * answered with, whoever answers it (the ingest thread after Kafka's ack, or the gateway for what
 * never reached a thread, or a thread that failed).
 *
 * - HTTP: 202 `{"accepted": n, "ids": [...]}`, or the status of the code with
 *   `{"error": {"code", "message", "details"?}}`.
 * - WebSocket: `{"ack": seq, "accepted": n, "ids": [...]}`, or `{"nack": seq, "error": {...}}`
 *   where seq is the message's (null when it could not be read). A WebSocket message is never
 *   answered with an HTTP error body.
 */
import { errorBody, httpStatusOf, type FloodgateErrorCode } from '@floodgate/errors';
import type { IngestReply } from './task.ts';

/**
 * Whom a reply goes to: `undefined` for an HTTP request, a WebSocket message's seq otherwise
 * (`null` when the message has no readable seq).
 */
export type ReplyTo = number | null | undefined;

/** A refusal: the HTTP error body, or a WebSocket nack with the message's seq. */
export function rejection(code: FloodgateErrorCode, message: string, details: unknown, to: ReplyTo, status = httpStatusOf(code)): IngestReply {
  if (to === undefined) return { status, body: errorBody(code, message, details), accepted: 0, code };
  return { status, body: nack(to, details === undefined ? { code, message } : { code, message, details }), accepted: 0, code };
}

/** A WebSocket nack: `{"nack": seq, "error": {...}}` (the error may carry more, e.g. `retry_after`). */
export function nack(seq: number | null, error: { code: FloodgateErrorCode; message: string } & Record<string, unknown>): string {
  return JSON.stringify({ nack: seq, error });
}

/** Events Kafka acknowledged: 202 with their ids, or the WebSocket ack. */
export function acceptedReply(ids: string[], to: ReplyTo): IngestReply {
  const body = to === undefined || to === null ? JSON.stringify({ accepted: ids.length, ids }) : JSON.stringify({ ack: to, accepted: ids.length, ids });
  return { status: 202, body, accepted: ids.length };
}

/**
 * An ingest thread died (or its task failed) with the request: it may have handed the events to
 * Kafka already, so their fate is unknown, and their ids died with it (docs/client-retries.md).
 */
export function workerFailedReply(to: ReplyTo): IngestReply {
  return rejection('OVERLOADED', 'the ingest worker failed; the events may or may not have been written, retry later', { outcome: 'unknown' }, to);
}

/**
 * The seq of a WebSocket message, read cheaply from its first 256 bytes, for answers given without
 * parsing it (rate limits, overload, a failed worker); null when not found.
 */
export function seqOf(body: Uint8Array): number | null {
  const head = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, 256)).toString('latin1');
  const match = /"seq"\s*:\s*(\d{1,15})/.exec(head);
  return match ? Number(match[1]) : null;
}
