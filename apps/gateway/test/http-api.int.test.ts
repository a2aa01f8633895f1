import { deflateSync, gzipSync } from 'node:zlib';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { createLogger } from '@floodgate/logging';
import { createKafka } from '@floodgate/kafka';
import { freePort, stackConfigForTests, startPipeline, uniqueName, waitFor, type RunningPipeline } from '@floodgate/testkit';

/**
 * The HTTP ingest API against the real gateway (its own processes) and real Kafka: what each
 * format puts on the topic, what each bad request gets, auth and rate limits. Reads the topic
 * back with a consumer to see exactly what was produced.
 */
const KEY_A = 'key-tenant-a-0001';
const KEY_B = 'key-tenant-b-0002';
const KEY_LIMITED = 'key-limited-0003';

describe('gateway HTTP API', () => {
  const stack = stackConfigForTests();
  const topic = uniqueName('gw_http');
  let pipeline: RunningPipeline;
  let consumer: Consumer;
  const consumed: KafkaMessage[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-keys-'));
    const keysFile = path.join(dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [{ tenant: 'limited', key: KEY_LIMITED, requestsPerSecond: 4 }] }));
    pipeline = await startPipeline({
      apps: ['gateway'],
      env: {
        KAFKA_TOPIC: topic,
        KAFKA_DLQ_TOPIC: `${topic}_dlq`,
        GATEWAY_PORT: String(await freePort()),
        ADMIN_PORT: '0',
        GATEWAY_PROCESSES: '1',
        FLOODGATE_API_KEYS: `tenant-a:${KEY_A},tenant-b:${KEY_B}`,
        FLOODGATE_API_KEYS_FILE: keysFile,
        MAX_BODY_BYTES: String(64 * 1024),
        MAX_DECOMPRESSED_BYTES: String(256 * 1024),
        MAX_EVENTS_PER_REQUEST: '100',
        MAX_NESTING_DEPTH: '8',
      },
      onLogLine: (app, line) => {
        if (/"level":"(error|fatal)"/.test(line)) process.stderr.write(`[${app}] ${line}\n`);
      },
    });
    const kafka = createKafka({ brokers: stack.KAFKA_BROKERS, clientId: 'gw-http-test', logger: createLogger('test', { level: 'error' }) });
    consumer = kafka.consumer({ groupId: uniqueName('gw_http_reader'), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void consumed.push(message) });
  });

  afterAll(async () => {
    await consumer?.disconnect();
    await pipeline?.stop();
  });

  async function post(body: string | Uint8Array, headers: Record<string, string> = {}, key: string | null = KEY_A) {
    const response = await fetch(`${pipeline.gatewayUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
    const text = await response.text();
    return { status: response.status, json: JSON.parse(text), headers: response.headers };
  }

  function producedWithId(id: string): Record<string, unknown> | undefined {
    const message = consumed.find((m) => m.headers?.['event-id']?.toString() === id);
    return message ? (JSON.parse(message.value!.toString()) as Record<string, unknown>) : undefined;
  }

  async function waitProduced(ids: string[]): Promise<Record<string, unknown>[]> {
    await waitFor(() => ids.every((id) => producedWithId(id) !== undefined), { timeoutMs: 15_000, intervalMs: 100, description: `${ids.length} events on ${topic}` });
    return ids.map((id) => producedWithId(id)!);
  }

  it('accepts every format and each lands in Kafka with the right fields', async () => {
    const single = await post('{"type":"signup","subject":"user-1","source":"web","data":{"plan":"pro"},"time":"2026-01-02T03:04:05Z"}');
    const array = await post('[{"type":"a","id":"client-id-1"},{"type":"b","time":1700000000000}]');
    const ndjson = await post('{"type":"nd1"}\n{"type":"nd2","data":{"k":1}}\n', { 'content-type': 'application/x-ndjson' });
    const ce = await post(
      JSON.stringify({ specversion: '1.0', id: 'ce-single-1', source: '/orders', type: 'com.example.order', subject: 'o-9', data: { total: 5 } }),
      { 'content-type': 'application/cloudevents+json; charset=utf-8' },
    );
    const ceBatch = await post(
      JSON.stringify([
        { specversion: '1.0', id: 'ce-batch-1', source: '/s', type: 't1' },
        { specversion: '1.0', id: 'ce-batch-2', source: '/s', type: 't2', data: 'text' },
      ]),
      { 'content-type': 'application/cloudevents-batch+json' },
    );
    const gz = await post(gzipSync('[{"type":"gzipped"},{"type":"gzipped"}]'), { 'content-encoding': 'gzip' });
    const deflated = await post(deflateSync('{"type":"deflated"}\n'), { 'content-encoding': 'deflate', 'content-type': 'application/x-ndjson' });

    for (const r of [single, array, ndjson, ce, ceBatch, gz, deflated]) expect(r.status, JSON.stringify(r.json)).toBe(202);
    expect([single, array, ndjson, ce, ceBatch, gz, deflated].map((r) => r.json.accepted)).toEqual([1, 2, 2, 1, 2, 2, 1]);
    expect(array.json.ids[0]).toBe('client-id-1');
    expect(ce.json.ids).toEqual(['ce-single-1']);

    const allIds = [single, array, ndjson, ce, ceBatch, gz, deflated].flatMap((r) => r.json.ids as string[]);
    const events = await waitProduced(allIds);
    expect(events[0]).toMatchObject({ tenant: 'tenant-a', type: 'signup', subject: 'user-1', source: 'web', time: '2026-01-02T03:04:05.000Z', data: { plan: 'pro' } });
    expect(events[2]).toMatchObject({ type: 'b', time: '2023-11-14T22:13:20.000Z' });
    expect(events.slice(3, 5).map((e) => e.type)).toEqual(['nd1', 'nd2']);
    expect(events[5]).toMatchObject({ id: 'ce-single-1', type: 'com.example.order', source: '/orders', subject: 'o-9', data: { total: 5 } });
    expect(events[7]).toMatchObject({ id: 'ce-batch-2', data: { value: 'text' } });
    expect(events.slice(8).map((e) => e.type)).toEqual(['gzipped', 'gzipped', 'deflated']);
    const keyed = consumed.find((m) => m.headers?.['event-id']?.toString() === single.json.ids[0]);
    expect(keyed?.key?.toString()).toBe('tenant-a/user-1');
    expect(keyed?.headers?.['received-at']?.toString()).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('gives each bad request its documented status and code, produces nothing, and keeps serving', async () => {
    const before = consumed.length;
    const cases: [string, Promise<{ status: number; json: any }>, number, string][] = [
      ['gzip bomb', post(gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20)), { 'content-encoding': 'gzip' }), 413, 'BODY_TOO_LARGE'],
      ['oversized body', post(JSON.stringify([{ type: 'x', data: { s: 'y'.repeat(70 * 1024) } }])), 413, 'BODY_TOO_LARGE'],
      ['too many events', post(JSON.stringify(Array.from({ length: 101 }, () => ({ type: 'x' })))), 413, 'TOO_MANY_EVENTS'],
      ['over-deep event', post('{"type":"x","data":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{}}}}}}}}}'), 400, 'BODY_TOO_DEEP'],
      ['malformed JSON', post('{"type":"x",'), 400, 'BODY_MALFORMED_JSON'],
      ['invalid UTF-8', post(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d])), 400, 'BODY_MALFORMED_JSON'],
      ['wrong content type', post('type=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['unknown encoding', post('{}', { 'content-encoding': 'br' }), 415, 'UNSUPPORTED_ENCODING'],
      ['not gzip at all', post('plain', { 'content-encoding': 'gzip' }), 400, 'BODY_BAD_ENCODING'],
      ['invalid event in a batch', post('[{"type":"fine"},{"type":""}]'), 400, 'EVENT_INVALID'],
    ];
    for (const [name, pending, status, code] of cases) {
      const { status: got, json } = await pending;
      expect({ name, status: got, code: json.error?.code }).toEqual({ name, status, code });
      expect(typeof json.error.message).toBe('string');
    }
    const invalid = await cases[9]![1];
    expect(invalid.json.error.details).toEqual([{ index: 1, field: 'type', message: 'must NOT have fewer than 1 characters' }]);

    const health = await fetch(`${pipeline.gatewayUrl}/healthz`);
    expect(health.status).toBe(200);
    const after = await post('{"type":"still-serving"}');
    expect(after.status).toBe(202);
    await waitProduced(after.json.ids);
    // Only the last, valid request was produced.
    expect(consumed.length - before).toBe(1);
  });

  it('requires a known key; two keys land as two tenants', async () => {
    const none = await post('{"type":"x"}', {}, null);
    expect(none.status).toBe(401);
    expect(none.json.error.code).toBe('UNAUTHORIZED');
    const unknown = await post('{"type":"x"}', {}, 'not-a-real-key-999');
    expect(unknown.status).toBe(401);
    const viaHeader = await post('{"type":"tenant-b-event"}', { 'x-api-key': KEY_B }, null);
    expect(viaHeader.status).toBe(202);
    const a = await post('{"type":"tenant-a-event"}');
    const [eventB, eventA] = await waitProduced([viaHeader.json.ids[0], a.json.ids[0]]);
    expect(eventB!.tenant).toBe('tenant-b');
    expect(eventA!.tenant).toBe('tenant-a');
  });

  it('answers 429 with Retry-After over the key\'s rate, and recovers', async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 10; i++) {
      const r = await post('{"type":"limited"}', {}, KEY_LIMITED);
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThanOrEqual(4);
    expect(limited?.json.error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(limited?.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, retryAfter * 1000));
    expect((await post('{"type":"limited"}', {}, KEY_LIMITED)).status).toBe(202);
    // Another key is not affected by this one's limit.
    expect((await post('{"type":"unlimited"}')).status).toBe(202);
  });

  it('reports readiness and Prometheus metrics on the admin port', async () => {
    const ready = await fetch(`${pipeline.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, checks: { kafka_reachable: true, processes_ready: 1 } });
    const metrics = await (await fetch(`${pipeline.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/floodgate_gateway_requests_total\{route="\/v1\/events",status="202"\} \d+/);
    expect(metrics).toMatch(/floodgate_gateway_rejected_total\{code="BODY_TOO_LARGE"\} 2/);
    expect(metrics).toMatch(/floodgate_gateway_events_accepted_total \d+/);
    expect(metrics).toMatch(/floodgate_gateway_request_duration_seconds_bucket/);
    expect(metrics).toMatch(/floodgate_gateway_kafka_produce_duration_seconds_count \d+/);
    expect(metrics).toMatch(/floodgate_gateway_websocket_connections 0/);
  });
});
