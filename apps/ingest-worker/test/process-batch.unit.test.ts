import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Message } from 'kafkajs';
import { FloodgateError } from '@floodgate/errors';
import { DEFAULT_EVENT_LIMITS } from '@floodgate/event-model';
import { CONTENT_ENCODINGS, KIND_CODE, processBatch, type IngestTask, type RequestKind } from '@floodgate/ingest-worker';

const settings = { limits: DEFAULT_EVENT_LIMITS, maxDecompressedBytes: 64 * 1024 };

interface RequestSpec {
  body: string | Uint8Array;
  kind?: RequestKind;
  encoding?: (typeof CONTENT_ENCODINGS)[number];
}

function taskOf(requests: (string | Uint8Array | RequestSpec)[]): IngestTask {
  const specs = requests.map((r) => (typeof r === 'string' || r instanceof Uint8Array ? { body: r } : r));
  const encoded = specs.map((s) => (typeof s.body === 'string' ? new TextEncoder().encode(s.body) : s.body));
  const buffer = new ArrayBuffer(encoded.reduce((n, b) => n + b.length, 0));
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
    kinds: new Uint8Array(specs.map((s) => KIND_CODE[s.kind ?? 'json'])),
    encodings: new Uint8Array(specs.map((s) => CONTENT_ENCODINGS.indexOf(s.encoding ?? 'identity'))),
  };
}

const codeOf = (body: string) => JSON.parse(body).error?.code ?? 'ok';

describe('processBatch (worker logic, Kafka send injected)', () => {
  it('sends all valid requests of a micro-batch in one Kafka send and answers each with its ids', async () => {
    const sends: Message[][] = [];
    const { replies } = await processBatch(taskOf(['{"type":"a","subject":"s1"}', '[{"type":"b","id":"k1"},{"type":"c"}]']), settings, async (messages) => {
      sends.push(messages);
    });
    expect(sends).toHaveLength(1);
    expect(sends[0]).toHaveLength(3);
    expect(sends[0]![0]!.key).toBe('tenant-a/s1');
    expect(replies.map((r) => r.status)).toEqual([202, 202]);
    const second = JSON.parse(replies[1]!.body);
    expect(second.accepted).toBe(2);
    expect(second.ids[0]).toBe('k1');
    expect(JSON.parse(String(sends[0]![1]!.value))).toMatchObject({ id: 'k1', tenant: 'tenant-a', type: 'b', received_at: '2026-11-23T00:00:00.000Z' });
    expect(sends[0]![1]!.headers).toMatchObject({ 'event-id': 'k1' });
  });

  it('rejects bad requests with their own error and still sends the good ones', async () => {
    const sent: Message[] = [];
    const { replies } = await processBatch(
      taskOf(['{"type":"ok"}', '{not json', new Uint8Array([0x7b, 0xff, 0x7d]), '', '[{"type":"x"},{}]']),
      settings,
      async (messages) => {
        sent.push(...messages);
      },
    );
    expect(sent).toHaveLength(1);
    expect(replies.map((r) => [r.status, codeOf(r.body)])).toEqual([
      [202, 'ok'],
      [400, 'BODY_MALFORMED_JSON'],
      [400, 'BODY_MALFORMED_JSON'],
      [400, 'BODY_EMPTY'],
      [400, 'EVENT_INVALID'],
    ]);
  });

  it('decompresses gzip, and stops a decompression bomb at the cap with 413', async () => {
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(20_000);
    const { replies } = await processBatch(
      taskOf([
        { body: gzipSync('[{"type":"gz"}]'), encoding: 'gzip' },
        { body: bomb, encoding: 'gzip' },
        { body: 'not gzip', encoding: 'gzip' },
      ]),
      settings,
      async () => {},
    );
    expect(replies.map((r) => [r.status, codeOf(r.body)])).toEqual([
      [202, 'ok'],
      [413, 'BODY_TOO_LARGE'],
      [400, 'BODY_BAD_ENCODING'],
    ]);
  });

  it('answers WebSocket messages with ack/nack carrying the client seq', async () => {
    const { replies } = await processBatch(
      taskOf([
        { body: '{"seq":7,"events":[{"type":"a"},{"type":"b"}]}', kind: 'ws' },
        { body: '{"seq":8,"event":{"type":"c"}}', kind: 'ws' },
        { body: '{"seq":9,"events":[{"nope":1}]}', kind: 'ws' },
        { body: '{"events":[]}', kind: 'ws' },
      ]),
      settings,
      async () => {},
    );
    const bodies = replies.map((r) => JSON.parse(r.body));
    expect(bodies[0]).toMatchObject({ ack: 7, accepted: 2 });
    expect(bodies[0].ids).toHaveLength(2);
    expect(bodies[1]).toMatchObject({ ack: 8, accepted: 1 });
    expect(bodies[2]).toMatchObject({ nack: 9, error: { code: 'EVENT_INVALID' } });
    expect(bodies[3]).toMatchObject({ nack: null, error: { code: 'EVENT_INVALID', message: 'seq must be a non-negative integer' } });
  });

  it('answers 503 when Kafka does not acknowledge, with each request\'s ids and "unknown" for a send that went out', async () => {
    const { replies } = await processBatch(
      taskOf(['{"type":"a","id":"mine"}', '[{"type":"b"},{"type":"c"}]', '{}', { body: '{"seq":1,"event":{"type":"w"}}', kind: 'ws' }]),
      settings,
      async () => {
        throw new Error('broker down');
      },
    );
    expect(replies.map((r) => [r.status, r.accepted])).toEqual([
      [503, 0],
      [503, 0],
      [400, 0],
      [503, 0],
    ]);
    const first = JSON.parse(replies[0]!.body);
    expect(first.error).toMatchObject({ code: 'KAFKA_UNAVAILABLE', details: { outcome: 'unknown', ids: ['mine'] } });
    expect(first.error.message).toMatch(/may have been written/);
    const second = JSON.parse(replies[1]!.body).error.details;
    expect(second.outcome).toBe('unknown');
    expect(second.ids).toHaveLength(2);
    expect(new Set(second.ids).size).toBe(2);
    const nack = JSON.parse(replies[3]!.body);
    expect(nack).toMatchObject({ nack: 1, error: { code: 'KAFKA_UNAVAILABLE', details: { outcome: 'unknown' } } });
    expect(nack.error.details.ids).toHaveLength(1);
  });

  it('says "not_written" when the send reports its events never went to Kafka', async () => {
    const { replies } = await processBatch(taskOf(['{"type":"a","id":"k"}']), settings, async () => {
      throw new FloodgateError('KAFKA_UNAVAILABLE', 'failed moments ago', { details: { outcome: 'not_written' } });
    });
    expect(replies[0]!.status).toBe(503);
    expect(JSON.parse(replies[0]!.body)).toEqual({
      error: { code: 'KAFKA_UNAVAILABLE', message: 'Kafka is unavailable; none of the events was written, retry later', details: { outcome: 'not_written', ids: ['k'] } },
    });
  });
});

describe('processBatch counts for the metrics contract', () => {
  it('counts received, sent and dropped events of a micro-batch, by code', async () => {
    const result = await processBatch(taskOf(['[{"type":"a"},{"type":"b"}]', '{ not json', '{"type":"c"}']), settings, async () => {});
    expect(result.counts).toEqual({ received: 4, sent: 3, errored: 0, dropped: { BODY_MALFORMED_JSON: 1 } });
  });

  it('counts a failed Kafka send as errored events and a produce failure with its code', async () => {
    const result = await processBatch(taskOf(['[{"type":"a"},{"type":"b"}]']), settings, async () => {
      throw new FloodgateError('KAFKA_UNAVAILABLE', 'broker down');
    });
    expect(result.counts).toEqual({ received: 2, sent: 0, errored: 2, dropped: {}, produceFailure: 'KAFKA_UNAVAILABLE' });
  });
});
