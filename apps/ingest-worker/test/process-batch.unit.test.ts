import { describe, expect, it } from 'vitest';
import type { Message } from 'kafkajs';
import { processBatch, type IngestTask } from '@floodgate/ingest-worker';

function taskOf(bodies: (string | Uint8Array)[]): IngestTask {
  const encoded = bodies.map((b) => (typeof b === 'string' ? new TextEncoder().encode(b) : b));
  const total = encoded.reduce((n, b) => n + b.length, 0);
  const buffer = new ArrayBuffer(total);
  const offsets = new Uint32Array(encoded.length + 1);
  let at = 0;
  encoded.forEach((b, i) => {
    offsets[i] = at;
    new Uint8Array(buffer).set(b, at);
    at += b.length;
  });
  offsets[encoded.length] = at;
  return {
    bodies: buffer,
    offsets,
    tenants: encoded.map(() => 'tenant-a'),
    receivedAtMs: new Float64Array(encoded.map(() => Date.parse('2026-11-23T00:00:00Z'))),
  };
}

describe('processBatch (worker logic, Kafka send injected)', () => {
  it('sends all valid requests of a micro-batch in one Kafka send and answers each with its ids', async () => {
    const sends: Message[][] = [];
    const replies = await processBatch(
      taskOf(['{"type":"a","subject":"s1"}', '[{"type":"b","id":"k1"},{"type":"c"}]']),
      async (messages) => {
        sends.push(messages);
      },
    );
    expect(sends).toHaveLength(1);
    expect(sends[0]).toHaveLength(3);
    expect(sends[0]![0]!.key).toBe('tenant-a/s1');
    expect(replies.map((r) => r.status)).toEqual([202, 202]);
    const second = JSON.parse(replies[1]!.body);
    expect(second.accepted).toBe(2);
    expect(second.ids[0]).toBe('k1');
    const value = JSON.parse(String(sends[0]![1]!.value));
    expect(value).toMatchObject({ id: 'k1', tenant: 'tenant-a', type: 'b', received_at: '2026-11-23T00:00:00.000Z' });
  });

  it('rejects bad requests with their own error and still sends the good ones', async () => {
    const sent: Message[] = [];
    const replies = await processBatch(
      taskOf(['{"type":"ok"}', '{not json', new Uint8Array([0x7b, 0xff, 0x7d]), '', '[{"type":"x"},{}]']),
      async (messages) => {
        sent.push(...messages);
      },
    );
    expect(sent).toHaveLength(1);
    expect(replies.map((r) => [r.status, JSON.parse(r.body).error?.code ?? 'ok'])).toEqual([
      [202, 'ok'],
      [400, 'BODY_MALFORMED_JSON'],
      [400, 'BODY_MALFORMED_JSON'],
      [400, 'BODY_EMPTY'],
      [400, 'EVENT_INVALID'],
    ]);
    expect(JSON.parse(replies[2]!.body).error.message).toMatch(/UTF-8/);
  });

  it('answers 503 and accepts nothing when Kafka does not acknowledge', async () => {
    const replies = await processBatch(taskOf(['{"type":"a"}', '{"type":"b"}', '{}']), async () => {
      throw new Error('broker down');
    });
    expect(replies.map((r) => [r.status, r.accepted])).toEqual([
      [503, 0],
      [503, 0],
      [400, 0],
    ]);
    expect(JSON.parse(replies[0]!.body).error.code).toBe('KAFKA_UNAVAILABLE');
  });
});
