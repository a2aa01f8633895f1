import { gunzipSync, inflateSync } from 'node:zlib';
import type { Message, RecordMetadata } from 'kafkajs';
import { isFloodgateError, type FloodgateErrorCode } from '@floodgate/errors';
import { sendOutcomeOf, type SendOutcome } from '@floodgate/kafka';
import { normaliseItems, parseEvents, parseItems, partitionKeyOf, type BodyFormat, type NormalisedEvent, type ParseOutcome } from '@floodgate/event-model';
import { CONTENT_ENCODINGS, REQUEST_KINDS, type IngestReply, type IngestResult, type IngestTask, type IngestWorkerData } from './task.ts';
import { BatchTrace } from './tracing.ts';
import { acceptedReply, rejection } from './reply.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

type Settings = Pick<IngestWorkerData, 'limits' | 'maxDecompressedBytes'> & Partial<Pick<IngestWorkerData, 'topic'>>;

interface Accepted {
  events: NormalisedEvent[];
  values: string[];
  /** The WebSocket message's seq; undefined for HTTP. */
  seq?: number;
}

function decompress(body: Uint8Array, encoding: (typeof CONTENT_ENCODINGS)[number], cap: number): Uint8Array | FloodgateErrorCode {
  if (encoding === 'identity') return body;
  try {
    const options = { maxOutputLength: cap };
    return encoding === 'gzip' ? gunzipSync(body, options) : inflateSync(body, options);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 'BODY_TOO_LARGE' : 'BODY_BAD_ENCODING';
  }
}

/** A WebSocket message: `{"seq": n, "events": [...]}` or `{"seq": n, "event": {...}}`. */
function parseWsMessage(text: string, ctx: Parameters<typeof parseEvents>[2]): { seq: number | null; outcome: ParseOutcome } {
  const items = parseItems(text, 'json', ctx.limits);
  if (!Array.isArray(items)) return { seq: null, outcome: items };
  const envelope = items.length === 1 ? items[0] : undefined;
  if (typeof envelope !== 'object' || envelope === null) {
    return { seq: null, outcome: { ok: false, code: 'EVENT_INVALID', message: 'a message must be {"seq": n, "events": [...]} or {"seq": n, "event": {...}}' } };
  }
  const { seq, events, event } = envelope as { seq?: unknown; events?: unknown; event?: unknown };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    return { seq: null, outcome: { ok: false, code: 'EVENT_INVALID', message: 'seq must be a non-negative integer' } };
  }
  const list = Array.isArray(events) ? events : event !== undefined ? [event] : undefined;
  if (list === undefined) {
    return { seq, outcome: { ok: false, code: 'EVENT_INVALID', message: 'the message has neither "events" (an array) nor "event"' } };
  }
  return { seq, outcome: normaliseItems(list, 'json', ctx) };
}

/** Decodes, parses and validates one request. Pure: no I/O, so it is unit-tested directly. */
export function parseRequest(
  raw: Uint8Array,
  kind: (typeof REQUEST_KINDS)[number],
  encoding: (typeof CONTENT_ENCODINGS)[number],
  tenant: string,
  receivedAtMs: number,
  settings: Settings,
): Accepted | IngestReply {
  const ws = kind === 'ws';
  const noSeq = ws ? null : undefined;
  const body = decompress(raw, encoding, settings.maxDecompressedBytes);
  if (typeof body === 'string') {
    return body === 'BODY_TOO_LARGE'
      ? rejection(body, `the body decompresses to more than ${settings.maxDecompressedBytes} bytes`, undefined, noSeq)
      : rejection(body, `the body is not valid ${encoding} data`, undefined, noSeq);
  }
  if (body.length === 0) return rejection('BODY_EMPTY', 'the request body is empty', undefined, noSeq);
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return rejection('BODY_MALFORMED_JSON', 'the body is not valid UTF-8', undefined, noSeq);
  }
  const ctx = { tenant, receivedAtMs, limits: settings.limits };
  let seq: number | null | undefined;
  let outcome: ParseOutcome;
  if (ws) ({ seq, outcome } = parseWsMessage(text, ctx));
  else outcome = parseEvents(text, kind as BodyFormat, ctx);
  if (!outcome.ok) return rejection(outcome.code, outcome.message, outcome.details, seq);
  return seq === undefined || seq === null ? { events: outcome.events, values: outcome.values } : { events: outcome.events, values: outcome.values, seq };
}

export function toKafkaMessage(event: NormalisedEvent, value: string, traceparent?: string): Message {
  const headers: NonNullable<Message['headers']> = { 'event-id': event.id, 'received-at': event.received_at };
  if (traceparent) headers.traceparent = traceparent;
  return { key: partitionKeyOf(event), value, headers };
}

/** `error.details` of a 503 / nack for events Kafka did not acknowledge (docs/client-retries.md). */
export interface UnacknowledgedDetails {
  /** `not_written`: none of the events is in Kafka. `unknown`: some or all may be, or may still land. */
  outcome: SendOutcome;
  /** The request's event ids, in request order (the client's, or the ones the server assigned). */
  ids: string[];
}

/** Resolves once Kafka acknowledged the messages, with the produce request's metadata when known. */
export type SendToKafka = (messages: Message[]) => Promise<void | RecordMetadata[]>;

/**
 * Handles one micro-batch: every valid request's events go to Kafka in one send, and each request
 * is answered 202 only after that send was acknowledged. A request with any invalid event is
 * answered 4xx and produces nothing (atomic batches).
 */
export async function processBatch(task: IngestTask, settings: Settings, send: SendToKafka): Promise<IngestResult> {
  const requests = task.tenants.length;
  const replies: IngestReply[] = new Array(requests);
  const messages: Message[] = [];
  const accepted: (Accepted | undefined)[] = new Array(requests);
  const traceparents = task.traceparents;
  const batchTrace = BatchTrace.start(traceparents, task.bodies.byteLength);
  let rejected = 0;
  const dropped: Record<string, number> = {};
  for (let i = 0; i < requests; i++) {
    const raw = new Uint8Array(task.bodies, task.offsets[i]!, task.offsets[i + 1]! - task.offsets[i]!);
    const kind = REQUEST_KINDS[task.kinds[i]!] ?? 'json';
    const encoding = CONTENT_ENCODINGS[task.encodings[i]!] ?? 'identity';
    const parsed = parseRequest(raw, kind, encoding, task.tenants[i]!, task.receivedAtMs[i]!, settings);
    if ('status' in parsed) {
      replies[i] = parsed;
      rejected++;
      const code = parsed.code ?? 'REJECTED';
      dropped[code] = (dropped[code] ?? 0) + 1;
      continue;
    }
    const traceparent = traceparents === undefined ? undefined : traceparents[i];
    const first = messages.length;
    for (let e = 0; e < parsed.events.length; e++) messages.push(toKafkaMessage(parsed.events[e]!, parsed.values[e]!, traceparent));
    batchTrace?.messages(i, first, messages.length);
    accepted[i] = parsed;
  }
  if (messages.length === 0) {
    batchTrace?.end(undefined, undefined);
    return { replies, counts: { received: rejected, sent: 0, errored: 0, dropped } };
  }

  batchTrace?.startSend(settings.topic ?? 'events', messages, rejected);
  const started = performance.now();
  let failure: FloodgateErrorCode | undefined;
  let metadata: void | RecordMetadata[] = undefined;
  let sendError: unknown;
  try {
    metadata = await send(messages);
  } catch (error) {
    sendError = error;
    failure = isFloodgateError(error) ? error.code : 'KAFKA_UNAVAILABLE';
  }
  const kafkaMs = performance.now() - started;
  batchTrace?.end(metadata || undefined, failure, sendError);
  const outcome = failure === undefined ? undefined : sendOutcomeOf(sendError);
  for (let i = 0; i < requests; i++) {
    const a = accepted[i];
    if (a === undefined) continue;
    replies[i] = failure === undefined ? acceptedReply(a.events.map((e) => e.id), a.seq) : unacknowledgedReply(failure, outcome!, a);
  }
  const counts = {
    received: messages.length + rejected,
    sent: failure === undefined ? messages.length : 0,
    errored: failure === undefined ? 0 : messages.length,
    dropped,
    ...(failure === undefined ? {} : { produceFailure: failure }),
  };
  return { replies, kafkaMs, counts };
}

/**
 * A request Kafka did not acknowledge. The answer says whether its events may have been written and
 * lists the ids they were (or would have been) written with: resent with those ids, they are the
 * same events, and the events table keeps one row per id (docs/client-retries.md). The ids of a
 * request without client ids are the server's; they are the client's only way to a safe retry.
 */
function unacknowledgedReply(code: FloodgateErrorCode, outcome: SendOutcome, a: Accepted): IngestReply {
  const message = outcome === 'not_written'
    ? 'Kafka is unavailable; none of the events was written, retry later'
    : 'Kafka did not acknowledge the events; some or all of them may have been written: retry with the ids in details.ids as the events\' ids, so a retry adds no duplicate';
  return rejection(code, message, { outcome, ids: a.events.map((e) => e.id) } satisfies UnacknowledgedDetails, a.seq);
}
