import type { KafkaMessage } from 'kafkajs';

/** One Kafka message ready for the insert body, plus what a dead letter needs. */
export interface BufferedRow {
  offset: number;
  /** Kafka message timestamp (ms since epoch, as a string). */
  timestamp: string;
  /** The JSON object of the value without its closing brace (a view of the message, no copy). */
  head: Buffer;
  /** `,"kafka_partition":…,"kafka_offset":…,"trace_id":"…"}` */
  tail: string;
  /** Bytes of this row in the insert body, newline included. */
  bytes: number;
  message: KafkaMessage;
  /** Set when the value cannot be a row at all: it is dead-lettered with this reason, never inserted. */
  unreadable?: string;
  /** When the sink buffered it (ms), for the age limit. */
  arrivedAt: number;
}

export type EncodeResult = { ok: true; row: BufferedRow } | { ok: false; reason: string };

const SPACE = new Set([0x20, 0x0a, 0x0d, 0x09]);
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

function headerString(value: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** The trace id of a W3C `traceparent` header, or '' when absent or malformed. */
export function traceIdOf(message: KafkaMessage): string {
  const header = headerString(message.headers?.traceparent);
  if (!header) return '';
  const match = TRACEPARENT.exec(header.trim());
  return match ? match[1]! : '';
}

/**
 * Turns a message (the normalised event as a JSON object, as the ingest worker writes it) into an
 * events-table row without parsing it: the object is reused as it is, and the Kafka coordinates
 * and trace id are spliced in before its closing brace. ClickHouse parses the JSON once, on insert
 * (`data` is read as a string by input_format_json_read_objects_as_strings). A value that is not
 * a non-empty JSON object is unreadable here; anything else ClickHouse refuses is isolated by the
 * insert (see isolate.ts).
 */
export function encodeRow(message: KafkaMessage, partition: number, arrivedAt = 0): EncodeResult {
  const value = message.value;
  if (!value || value.length === 0) return { ok: false, reason: 'the message has no value' };
  let start = 0;
  while (start < value.length && SPACE.has(value[start]!)) start++;
  let end = value.length - 1;
  while (end > start && SPACE.has(value[end]!)) end--;
  if (value[start] !== 0x7b /* { */ || value[end] !== 0x7d /* } */ || end - start < 2) {
    return { ok: false, reason: 'the value is not a non-empty JSON object' };
  }
  let inner = end - 1;
  while (inner > start && SPACE.has(value[inner]!)) inner--;
  if (inner === start) return { ok: false, reason: 'the value is an empty JSON object' };
  const head = value.subarray(start, end);
  const tail = `,"kafka_partition":${partition},"kafka_offset":${message.offset},"trace_id":"${traceIdOf(message)}"}`;
  return {
    ok: true,
    row: {
      offset: Number(message.offset),
      timestamp: message.timestamp,
      head,
      tail,
      bytes: head.length + tail.length + 1,
      message,
      arrivedAt,
    },
  };
}

/** A row that is dead-lettered as it is (the value is not something ClickHouse could take). */
export function unreadableRow(message: KafkaMessage, reason: string, arrivedAt: number): BufferedRow {
  return { offset: Number(message.offset), timestamp: message.timestamp, head: EMPTY, tail: '', bytes: 0, message, unreadable: reason, arrivedAt };
}

const EMPTY = Buffer.alloc(0);

/** The JSONEachRow body of some rows: one allocation, one copy of each row. */
export function insertBody(rows: readonly BufferedRow[]): Buffer {
  let size = 0;
  for (const row of rows) size += row.bytes;
  const body = Buffer.allocUnsafe(size);
  let at = 0;
  for (const row of rows) {
    if (row.unreadable !== undefined) continue;
    at += row.head.copy(body, at);
    at += body.write(row.tail, at, 'latin1');
    body[at++] = 0x0a;
  }
  return body;
}
