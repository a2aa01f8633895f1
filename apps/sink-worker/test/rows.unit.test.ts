import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { encodeRow, insertBody, traceIdOf } from '../src/rows.ts';

const message = (value: string | null, offset = '42', headers: KafkaMessage['headers'] = {}): KafkaMessage => ({
  key: Buffer.from('default/x'),
  value: value === null ? null : Buffer.from(value),
  timestamp: '1700000000000',
  attributes: 0,
  offset,
  size: 0,
  headers,
}) as unknown as KafkaMessage;

describe('encodeRow', () => {
  it('splices the Kafka coordinates and trace id into the event object without parsing it', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const result = encodeRow(message('{"id":"a","data":{"x":1}}\n', '42', { traceparent: Buffer.from(traceparent) }), 3);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const body = insertBody([result.row, result.row]).toString();
    const line = '{"id":"a","data":{"x":1},"kafka_partition":3,"kafka_offset":42,"trace_id":"0af7651916cd43dd8448eb211c80319c"}';
    expect(body).toBe(`${line}\n${line}\n`);
    expect(JSON.parse(body.split('\n')[0]!)).toEqual({ id: 'a', data: { x: 1 }, kafka_partition: 3, kafka_offset: 42, trace_id: '0af7651916cd43dd8448eb211c80319c' });
    expect(result.row.bytes).toBe(line.length + 1);
    expect(result.row.offset).toBe(42);
  });

  it('calls values that are not a non-empty JSON object unreadable', () => {
    for (const value of [null, '', '   ', 'not json', '[1,2]', '{}', '{ \n }', '"str"']) {
      expect(encodeRow(message(value), 0).ok, JSON.stringify(value)).toBe(false);
    }
  });

  it('ignores a malformed traceparent', () => {
    expect(traceIdOf(message('{}', '1', { traceparent: Buffer.from('garbage') }))).toBe('');
    expect(traceIdOf(message('{}', '1'))).toBe('');
  });
});
