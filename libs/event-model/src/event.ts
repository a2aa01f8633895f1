import { newEventId } from './ids.ts';
import { jsonDepth, type EventLimits } from './limits.ts';
import { problemsOf, validateCloudEvent, validateNativeEvent } from './schema.ts';

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

/** How the body is framed; chosen from the request's content type. */
export type BodyFormat = 'json' | 'ndjson' | 'cloudevents' | 'cloudevents-batch';

export const FORMAT_OF_CONTENT_TYPE: Readonly<Record<string, BodyFormat>> = Object.freeze({
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/cloudevents+json': 'cloudevents',
  'application/cloudevents-batch+json': 'cloudevents-batch',
});

export type RejectCode = 'BODY_MALFORMED_JSON' | 'EVENT_INVALID' | 'TOO_MANY_EVENTS' | 'EVENT_TOO_LARGE' | 'BODY_TOO_DEEP';

export type ParseOutcome =
  | {
      ok: true;
      events: NormalisedEvent[];
      /** Each event serialised, as it goes to Kafka (computed once for the size check). */
      values: string[];
    }
  | { ok: false; code: RejectCode; message: string; details?: EventProblem[] | { line: number } };

export interface ParseContext {
  tenant: string;
  receivedAtMs: number;
  limits: EventLimits;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** ISO-8601 date-time (with a zone or taken as UTC) or epoch milliseconds → ISO UTC, else undefined. */
export function normaliseTime(value: unknown): string | undefined {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) ms = Date.parse(value);
  else return undefined;
  // Years 1970..9999: what DateTime64 stores without wrapping.
  if (!Number.isFinite(ms) || ms < 0 || ms > 253_402_300_799_999) return undefined;
  return new Date(ms).toISOString();
}

/** Splits NDJSON into parsed lines; an unparsable line names its line number. */
function parseNdjson(text: string): unknown[] | { line: number; message: string } {
  const items: unknown[] = [];
  let line = 0;
  for (const raw of text.split('\n')) {
    line++;
    const trimmed = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (trimmed.trim() === '') continue;
    try {
      items.push(JSON.parse(trimmed));
    } catch (error) {
      return { line, message: (error as Error).message };
    }
  }
  return items;
}

function fromNative(raw: Record<string, unknown>, index: number, ctx: ParseContext, receivedAt: string, problems: EventProblem[]): NormalisedEvent | undefined {
  const valid = validateNativeEvent(raw);
  if (!valid) for (const p of problemsOf(validateNativeEvent.errors)) problems.push({ index, ...p });
  const time = raw.time === undefined ? receivedAt : normaliseTime(raw.time);
  if (time === undefined && (typeof raw.time === 'string' || typeof raw.time === 'number')) {
    problems.push({ index, field: 'time', message: 'must be an ISO-8601 date-time or epoch milliseconds between 1970 and 9999' });
  }
  if (!valid || time === undefined) return undefined;
  return {
    id: (raw.id as string | undefined) ?? newEventId(),
    tenant: ctx.tenant,
    type: raw.type as string,
    source: (raw.source as string | undefined) ?? '',
    subject: (raw.subject as string | undefined) ?? '',
    time,
    received_at: receivedAt,
    data: (raw.data as Record<string, unknown> | undefined) ?? {},
  };
}

const CLOUD_EVENT_CORE = new Set(['specversion', 'id', 'source', 'type', 'subject', 'time', 'data']);

/**
 * A CloudEvent becomes our event: id, source, type, subject and time map one to one. `data` is kept
 * when it is an object, else wrapped as `{"value": data}`; the other attributes (datacontenttype,
 * dataschema, data_base64, extensions) are kept under `data.cloudevents`.
 */
function fromCloudEvent(raw: Record<string, unknown>, index: number, ctx: ParseContext, receivedAt: string, problems: EventProblem[]): NormalisedEvent | undefined {
  if (!validateCloudEvent(raw)) {
    for (const p of problemsOf(validateCloudEvent.errors)) problems.push({ index, ...p });
    return undefined;
  }
  let time = receivedAt;
  if (raw.time !== undefined) {
    const parsed = normaliseTime(raw.time);
    if (parsed === undefined) {
      problems.push({ index, field: 'time', message: 'must be an RFC 3339 timestamp' });
      return undefined;
    }
    time = parsed;
  }
  const data: Record<string, unknown> = raw.data === undefined ? {} : isPlainObject(raw.data) ? { ...raw.data } : { value: raw.data };
  const attributes: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) if (!CLOUD_EVENT_CORE.has(key)) attributes[key] = raw[key];
  if (Object.keys(attributes).length > 0) data.cloudevents = attributes;
  return {
    id: raw.id as string,
    tenant: ctx.tenant,
    type: raw.type as string,
    source: raw.source as string,
    subject: (raw.subject as string | undefined) ?? '',
    time,
    received_at: receivedAt,
    data,
  };
}

type Rejection = Extract<ParseOutcome, { ok: false }>;

/** Parses a body into its raw event items, by format. */
export function parseItems(text: string, format: BodyFormat, limits: EventLimits): unknown[] | Rejection {
  const depth = jsonDepth(text, limits.maxDepth);
  if (depth > limits.maxDepth) {
    return { ok: false, code: 'BODY_TOO_DEEP', message: `the body nests arrays/objects deeper than ${limits.maxDepth} levels` };
  }
  if (format === 'ndjson') {
    const parsed = parseNdjson(text);
    if (Array.isArray(parsed)) return parsed;
    return { ok: false, code: 'BODY_MALFORMED_JSON', message: `line ${parsed.line} is not valid JSON: ${parsed.message}`, details: { line: parsed.line } };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, code: 'BODY_MALFORMED_JSON', message: `the body is not valid JSON: ${(error as Error).message}` };
  }
  if (format === 'cloudevents' && !isPlainObject(parsed)) {
    return { ok: false, code: 'EVENT_INVALID', message: 'a structured CloudEvent must be one JSON object (use application/cloudevents-batch+json for arrays)' };
  }
  if (format === 'cloudevents-batch' && !Array.isArray(parsed)) {
    return { ok: false, code: 'EVENT_INVALID', message: 'a CloudEvents batch must be a JSON array' };
  }
  return Array.isArray(parsed) ? parsed : [parsed];
}

/**
 * Validates raw event items and normalises them. Atomic: one bad event rejects them all, with a
 * problem per offending index and field.
 */
export function normaliseItems(items: unknown[], format: BodyFormat, ctx: ParseContext): ParseOutcome {
  if (items.length === 0) return { ok: false, code: 'EVENT_INVALID', message: 'the request holds no event' };
  if (items.length > ctx.limits.maxEventsPerRequest) {
    return { ok: false, code: 'TOO_MANY_EVENTS', message: `the request holds ${items.length} events; at most ${ctx.limits.maxEventsPerRequest} are allowed` };
  }

  const receivedAt = new Date(ctx.receivedAtMs).toISOString();
  const cloud = format === 'cloudevents' || format === 'cloudevents-batch';
  const problems: EventProblem[] = [];
  const events: NormalisedEvent[] = [];
  for (let index = 0; index < items.length; index++) {
    const raw = items[index];
    if (!isPlainObject(raw)) {
      problems.push({ index, field: '', message: 'an event must be a JSON object' });
      continue;
    }
    const event = cloud ? fromCloudEvent(raw, index, ctx, receivedAt, problems) : fromNative(raw, index, ctx, receivedAt, problems);
    if (event) events.push(event);
  }
  if (problems.length > 0) {
    return { ok: false, code: 'EVENT_INVALID', message: `${problems.length} problem(s) in the request; nothing was accepted`, details: problems };
  }

  const values: string[] = new Array(events.length);
  const tooLarge: EventProblem[] = [];
  for (let i = 0; i < events.length; i++) {
    const value = JSON.stringify(events[i]);
    // UTF-16 length is a lower bound of the UTF-8 size; measure exactly only when close.
    const bytes = value.length * 3 > ctx.limits.maxEventBytes ? Buffer.byteLength(value) : value.length;
    if (bytes > ctx.limits.maxEventBytes) tooLarge.push({ index: i, field: '', message: `is ${bytes} bytes; at most ${ctx.limits.maxEventBytes} are allowed` });
    values[i] = value;
  }
  if (tooLarge.length > 0) {
    return { ok: false, code: 'EVENT_TOO_LARGE', message: `${tooLarge.length} event(s) too large; nothing was accepted`, details: tooLarge };
  }
  return { ok: true, events, values };
}

/** parseItems then normaliseItems: a whole request body to events. */
export function parseEvents(text: string, format: BodyFormat, ctx: ParseContext): ParseOutcome {
  const items = parseItems(text, format, ctx.limits);
  return Array.isArray(items) ? normaliseItems(items, format, ctx) : items;
}

/**
 * Kafka key: tenant plus subject keeps one subject's events in order. Events without a subject
 * need no order, so their id spreads them over the partitions.
 */
export function partitionKeyOf(event: NormalisedEvent): string {
  return `${event.tenant}/${event.subject || event.id}`;
}
