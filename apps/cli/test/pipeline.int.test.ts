import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse } from '@floodgate/clickhouse';
import { clickhouseUrl } from '@floodgate/config';
import { freePort, stackConfigForTests, startPipeline, uniqueName, waitFor, type RunningPipeline } from '@floodgate/testkit';

/**
 * The walking skeleton end to end on the real stack: HTTP → gateway → ingest workers → Kafka →
 * sink → ClickHouse. Own topic, consumer group and database, so it sees only its own events.
 */
describe('pipeline: HTTP to ClickHouse', () => {
  const stack = stackConfigForTests();
  const database = uniqueName('it_pipeline');
  const API_KEY = 'test-key-pipeline-0001';
  let pipeline: RunningPipeline;
  let clickhouse: ClickHouseClient;

  beforeAll(async () => {
    pipeline = await startPipeline({
      env: {
        KAFKA_TOPIC: uniqueName('events'),
        KAFKA_DLQ_TOPIC: uniqueName('events-dlq'),
        SINK_GROUP_ID: uniqueName('sink'),
        CLICKHOUSE_DATABASE: database,
        GATEWAY_PORT: String(await freePort()),
        ADMIN_PORT: '0',
        SINK_ADMIN_PORT: '0',
        GATEWAY_PROCESSES: '2',
        FLOODGATE_API_KEYS: `default:${API_KEY}`,
      },
      // Readiness is read from the apps' info lines; show only warnings and errors in test output.
      onLogLine: (app, line) => {
        if (/"level":"(warn|error|fatal)"/.test(line)) process.stderr.write(`[${app}] ${line}\n`);
      },
    });
    clickhouse = createClickHouse({
      url: clickhouseUrl(stack),
      username: stack.CLICKHOUSE_USER,
      password: stack.CLICKHOUSE_PASSWORD,
      database: 'default',
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await clickhouse?.close();
  });

  async function post(body: string, contentType = 'application/json'): Promise<{ status: number; json: any }> {
    const response = await fetch(`${pipeline.gatewayUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: `Bearer ${API_KEY}` },
      body,
    });
    return { status: response.status, json: await response.json() };
  }

  async function rowCount(where = '1'): Promise<number> {
    const result = await clickhouse.query({
      query: `SELECT count() AS n FROM ${database}.events WHERE ${where}`,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: string }>();
    return Number(row?.n ?? 0);
  }

  it('accepts one event with 202 and its id is a row within 2 s', async () => {
    const { status, json } = await post('{"type":"signup","data":{"plan":"pro"}}');
    expect(status).toBe(202);
    expect(json.accepted).toBe(1);
    expect(json.ids).toHaveLength(1);
    const id: string = json.ids[0];
    const started = Date.now();
    await waitFor(async () => (await rowCount(`id = '${id}'`)) === 1, {
      timeoutMs: 2000,
      intervalMs: 50,
      description: `event ${id} in ClickHouse`,
    });
    expect(Date.now() - started).toBeLessThan(2000);
    const result = await clickhouse.query({
      query: `SELECT type, tenant, data FROM ${database}.events WHERE id = {id:String}`,
      query_params: { id },
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([{ type: 'signup', tenant: 'default', data: '{"plan":"pro"}' }]);
  });

  it('answers malformed JSON and a missing type with 400 and a JSON error, producing nothing', async () => {
    const malformed = await post('{"type": "x",');
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.code).toBe('BODY_MALFORMED_JSON');
    expect(malformed.json.error.message).toMatch(/not valid JSON/);

    const noType = await post('[{"type":"fine"},{"data":{"a":1}}]');
    expect(noType.status).toBe(400);
    expect(noType.json).toEqual({
      error: {
        code: 'EVENT_INVALID',
        message: '1 problem(s) in the request; nothing was accepted',
        details: [{ index: 1, field: 'type', message: 'is required' }],
      },
    });
    // The valid first event of the rejected batch must not have been produced.
    await new Promise((r) => setTimeout(r, 500));
    expect(await rowCount(`type = 'fine'`)).toBe(0);
  });

  it('CloudEvents with id "1" from sources /a and /b are two events, and a retry of one adds none (FINAL, events_unique)', async () => {
    // One subject: one Kafka partition, so the marker sent last lands after the others.
    const ce = (source: string) => ({ specversion: '1.0', id: '1', source, type: 'ce.identity', subject: 'identity', data: { from: source } });
    expect((await post(JSON.stringify([ce('/a'), ce('/b')]), 'application/cloudevents-batch+json')).status).toBe(202);
    expect((await post(JSON.stringify(ce('/a')), 'application/cloudevents+json')).status).toBe(202);
    const marker = await post(JSON.stringify({ type: 'ce.identity.marker', subject: 'identity' }));
    expect(marker.status).toBe(202);
    await waitFor(async () => (await rowCount(`id = '${marker.json.ids[0]}'`)) === 1, {
      timeoutMs: 30_000,
      intervalMs: 100,
      description: 'the marker event in ClickHouse',
    });
    async function sources(from: string): Promise<string[]> {
      const result = await clickhouse.query({ query: `SELECT source FROM ${from} WHERE type = 'ce.identity' ORDER BY source`, format: 'JSONCompactEachRow' });
      return (await result.json<[string]>()).map(([source]) => source);
    }
    expect(await sources(`${database}.events FINAL`)).toEqual(['/a', '/b']);
    expect(await sources(`${database}.events_unique`)).toEqual(['/a', '/b']);
  });

  it('keeps one subject in order: array order within a request, and request order across requests that each waited for their 202', async () => {
    // 20 requests of 5 events each, sent one after the other (over two gateway processes, so over
    // two producers): one key (tenant/subject), one partition, Kafka offsets in the sending order.
    for (let r = 0; r < 20; r++) {
      const events = Array.from({ length: 5 }, (_, j) => ({ type: 'order.check', subject: 'order-key', data: { seq: r * 5 + j } }));
      expect((await post(JSON.stringify(events))).status).toBe(202);
    }
    await waitFor(async () => (await rowCount(`type = 'order.check'`)) === 100, { timeoutMs: 30_000, intervalMs: 100, description: '100 order.check rows' });
    const result = await clickhouse.query({
      query: `SELECT JSONExtractInt(data, 'seq') AS seq, kafka_partition AS p FROM ${database}.events WHERE type = 'order.check' ORDER BY kafka_offset`,
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ seq: number; p: number }>();
    expect(new Set(rows.map((r) => r.p)).size).toBe(1);
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('lands 10,000 events from concurrent single and array requests exactly once', async () => {
    const total = 10_000;
    const clients = 8;
    const acknowledged: string[] = [];
    let next = 0;
    // Each client takes the next slice: a single event or an array of 2..50, until 10,000 are sent.
    async function client(clientIndex: number): Promise<void> {
      let request = 0;
      while (next < total) {
        const size = Math.min(total - next, request % 3 === 0 ? 1 : 2 + ((clientIndex * 7 + request) % 49));
        const start = next;
        next += size;
        const events = Array.from({ length: size }, (_, i) => ({
          type: 'load',
          subject: `client-${clientIndex}`,
          data: { n: start + i },
        }));
        const body = size === 1 ? JSON.stringify(events[0]) : JSON.stringify(events);
        const { status, json } = await post(body);
        expect(status, JSON.stringify(json)).toBe(202);
        expect(json.accepted).toBe(size);
        acknowledged.push(...json.ids);
        request++;
      }
    }
    await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
    expect(acknowledged).toHaveLength(total);
    expect(new Set(acknowledged).size).toBe(total);

    await waitFor(async () => (await rowCount(`type = 'load'`)) >= total, {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: `${total} load events in ClickHouse`,
    });
    const result = await clickhouse.query({
      query: `SELECT id FROM ${database}.events WHERE type = 'load'`,
      format: 'JSONCompactEachRow',
    });
    const ids = (await result.json<[string]>()).map(([id]) => id);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    expect([...ids].sort()).toEqual([...acknowledged].sort());
  });
});
