import type { Message } from 'kafkajs';
import { errorBody, httpStatusOf, isFloodgateError } from '@floodgate/errors';
import { normaliseEvents, partitionKeyOf, type NormalisedEvent } from '@floodgate/event-model';
import type { IngestReply, IngestTask } from './task.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function reject(code: 'BODY_MALFORMED_JSON' | 'BODY_EMPTY' | 'EVENT_INVALID', message: string, details?: unknown): IngestReply {
  return { status: httpStatusOf(code), body: errorBody(code, message, details), accepted: 0 };
}

/** Parses and validates one request body. Pure: no I/O, so it is unit-tested directly. */
export function parseRequest(body: Uint8Array, tenant: string, receivedAtMs: number): NormalisedEvent[] | IngestReply {
  if (body.length === 0) return reject('BODY_EMPTY', 'the request body is empty');
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return reject('BODY_MALFORMED_JSON', 'the request body is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return reject('BODY_MALFORMED_JSON', `the request body is not valid JSON: ${(error as Error).message}`);
  }
  const result = normaliseEvents(parsed, tenant, receivedAtMs);
  if (!result.ok) {
    return reject('EVENT_INVALID', `${result.problems.length} problem(s) in the batch; nothing was accepted`, result.problems);
  }
  return result.events;
}

export function toKafkaMessage(event: NormalisedEvent): Message {
  return {
    key: partitionKeyOf(event),
    value: JSON.stringify(event),
    headers: { 'event-id': event.id, 'received-at': event.received_at },
  };
}

export type SendToKafka = (messages: Message[]) => Promise<void>;

/**
 * Handles one micro-batch: every valid request's events go to Kafka in one send, and each request
 * is answered 202 only after that send was acknowledged. A request with any invalid event is
 * answered 400 and produces nothing (atomic batches).
 */
export async function processBatch(task: IngestTask, send: SendToKafka): Promise<IngestReply[]> {
  const requests = task.tenants.length;
  const replies: IngestReply[] = new Array(requests);
  const messages: Message[] = [];
  const acceptedIds: (string[] | undefined)[] = new Array(requests);
  for (let i = 0; i < requests; i++) {
    const body = new Uint8Array(task.bodies, task.offsets[i]!, task.offsets[i + 1]! - task.offsets[i]!);
    const parsed = parseRequest(body, task.tenants[i]!, task.receivedAtMs[i]!);
    if (!Array.isArray(parsed)) {
      replies[i] = parsed;
      continue;
    }
    const ids: string[] = new Array(parsed.length);
    for (let e = 0; e < parsed.length; e++) {
      const event = parsed[e]!;
      ids[e] = event.id;
      messages.push(toKafkaMessage(event));
    }
    acceptedIds[i] = ids;
  }
  if (messages.length > 0) {
    let failure: IngestReply | undefined;
    try {
      await send(messages);
    } catch (error) {
      const code = isFloodgateError(error) ? error.code : 'KAFKA_UNAVAILABLE';
      failure = { status: 503, body: errorBody(code, 'Kafka did not acknowledge the events; nothing was accepted, retry later'), accepted: 0 };
    }
    for (let i = 0; i < requests; i++) {
      const ids = acceptedIds[i];
      if (ids === undefined) continue;
      replies[i] = failure ?? { status: 202, body: JSON.stringify({ accepted: ids.length, ids }), accepted: ids.length };
    }
  }
  return replies;
}
