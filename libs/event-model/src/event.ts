import { v7 as uuidv7 } from 'uuid';

/** An event as it is stored in Kafka and ClickHouse, after validation and normalisation. */
export interface NormalisedEvent {
  id: string;
  tenant: string;
  type: string;
  source: string;
  subject: string;
  /** ISO-8601 UTC with milliseconds. */
  time: string;
  received_at: string;
  data: Record<string, unknown>;
}

/** Per-index problems of a rejected batch, as shown to the client in `error.details`. */
export interface EventProblem {
  index: number;
  field: string;
  message: string;
}

export type NormaliseResult =
  | { ok: true; events: NormalisedEvent[] }
  | { ok: false; problems: EventProblem[] };

const MAX_ID_LENGTH = 128;
const MAX_SHORT_FIELD_LENGTH = 256;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function normaliseTime(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
  }
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
  }
  return undefined;
}

function checkShortString(
  raw: Record<string, unknown>,
  field: string,
  index: number,
  problems: EventProblem[],
  maxLength = MAX_SHORT_FIELD_LENGTH,
): string {
  const value = raw[field];
  if (value === undefined) return '';
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    problems.push({ index, field, message: `must be a non-empty string of at most ${maxLength} characters` });
    return '';
  }
  return value;
}

/**
 * Validates parsed JSON (one event or an array of events) and normalises every event. Atomic: one
 * invalid event rejects the whole batch, with a problem per offending field and index.
 */
export function normaliseEvents(parsed: unknown, tenant: string, receivedAtMs: number): NormaliseResult {
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length === 0) {
    return { ok: false, problems: [{ index: 0, field: '', message: 'the batch holds no event' }] };
  }
  const receivedAt = new Date(receivedAtMs).toISOString();
  const problems: EventProblem[] = [];
  const events: NormalisedEvent[] = [];
  for (let index = 0; index < items.length; index++) {
    const raw = items[index];
    if (!isPlainObject(raw)) {
      problems.push({ index, field: '', message: 'an event must be a JSON object' });
      continue;
    }
    const type = raw.type;
    if (typeof type !== 'string' || type.length === 0 || type.length > MAX_SHORT_FIELD_LENGTH) {
      problems.push({ index, field: 'type', message: 'is required: a non-empty string of at most 256 characters' });
    }
    const id = checkShortString(raw, 'id', index, problems, MAX_ID_LENGTH);
    const source = checkShortString(raw, 'source', index, problems);
    const subject = checkShortString(raw, 'subject', index, problems);
    let time = receivedAt;
    if (raw.time !== undefined) {
      const parsedTime = normaliseTime(raw.time);
      if (parsedTime === undefined) {
        problems.push({ index, field: 'time', message: 'must be an ISO-8601 date-time or epoch milliseconds' });
      } else {
        time = parsedTime;
      }
    }
    let data: Record<string, unknown> = {};
    if (raw.data !== undefined) {
      if (isPlainObject(raw.data)) data = raw.data;
      else problems.push({ index, field: 'data', message: 'must be a JSON object' });
    }
    if (problems.length > 0) continue;
    events.push({
      id: id || uuidv7(),
      tenant,
      type: type as string,
      source,
      subject,
      time,
      received_at: receivedAt,
      data,
    });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, events };
}

/**
 * Kafka key: tenant plus subject keeps one subject's events in order. Events without a subject
 * need no order, so their id spreads them over the partitions.
 */
export function partitionKeyOf(event: NormalisedEvent): string {
  return `${event.tenant}/${event.subject || event.id}`;
}
