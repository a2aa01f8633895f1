import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse } from '@floodgate/clickhouse';
import { clickhouseUrl } from '@floodgate/config';
import { freePort, stackConfigForTests, startPipeline, uniqueName, waitFor, type RunningPipeline } from '@floodgate/testkit';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const FLOODGATE_BIN = path.join(REPO_ROOT, 'apps/cli/bin/floodgate.js');
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const run = promisify(execFile);

interface SpanRow {
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  SpanKind: string;
  ServiceName: string;
  Duration: string;
  SpanAttributes: Record<string, string>;
  'Links.TraceId': string[];
  'Links.SpanId': string[];
  'Links.Attributes': Record<string, string>[];
}

/**
 * Issue 5 end to end: an event sent with a sampled client traceparent through the real pipeline
 * (gateway processes and their ingest threads, Kafka, sink, ClickHouse) is followed by spans into
 * the ClickHouse span store and, at the same time, to an OTLP/HTTP receiver; `floodgate trace`
 * and the /ui/traces page show its journey. Own topic, group and database; sampling ratio 0, so
 * the only traces are the ones this test asks for.
 */
describe('tracing: an event followed end to end', () => {
  const stack = stackConfigForTests();
  const database = uniqueName('it_tracing');
  const topic = uniqueName('events');
  const API_KEY = 'test-key-tracing-0001';
  const ADMIN_TOKEN = 'admin-token-tracing-0001';
  const traceId = randomBytes(16).toString('hex');
  const clientSpanId = randomBytes(8).toString('hex');
  const otlpRequests: { path: string; contentType: string; body: Buffer }[] = [];
  let receiver: Server;
  let pipeline: RunningPipeline;
  let clickhouse: ClickHouseClient;
  let eventId = '';
  let spans: SpanRow[] = [];
  let row: { trace_id: string; kafka_partition: number; kafka_offset: string } | undefined;

  beforeAll(async () => {
    // A local OTLP/HTTP receiver: keeps what it is sent, answers an empty ExportTraceServiceResponse.
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        otlpRequests.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' });
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const otlpPort = (receiver.address() as { port: number }).port;

    pipeline = await startPipeline({
      env: {
        KAFKA_TOPIC: topic,
        KAFKA_DLQ_TOPIC: uniqueName('events_dlq'),
        SINK_GROUP_ID: uniqueName('sink'),
        CLICKHOUSE_DATABASE: database,
        GATEWAY_PORT: String(await freePort()),
        ADMIN_PORT: '0',
        SINK_ADMIN_PORT: '0',
        GATEWAY_PROCESSES: '2',
        FLOODGATE_API_KEYS: `default:${API_KEY}`,
        FLOODGATE_ADMIN_TOKEN: ADMIN_TOKEN,
        SINK_FLUSH_MAX_AGE_MS: '200',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0',
        OTEL_BSP_SCHEDULE_DELAY: '200',
      },
      onLogLine: (app, line) => {
        if (/"level":"(warn|error|fatal)"/.test(line) && !line.includes('Limiting retries for the idempotent producer')) process.stderr.write(`[${app}] ${line}\n`);
      },
    });
    clickhouse = createClickHouse({ url: clickhouseUrl(stack), username: stack.CLICKHOUSE_USER, password: stack.CLICKHOUSE_PASSWORD, database: 'default' });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await clickhouse?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  async function rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const result = await clickhouse.query({ query, query_params: params, format: 'JSONEachRow' });
    return result.json<T>();
  }

  it('a sampled client traceparent: the trace in ClickHouse has every hop with the right parents and links, and the row its trace id', async () => {
    const response = await fetch(`${pipeline.gatewayUrl}/v1/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${API_KEY}`,
        traceparent: `00-${traceId}-${clientSpanId}-01`,
        'user-agent': 'tracing-test/1.0',
      },
      body: JSON.stringify({ type: 'signup', subject: 'user-42', data: { plan: 'pro' } }),
    });
    const body = (await response.json()) as { accepted: number; ids: string[] };
    expect(response.status).toBe(202);
    eventId = body.ids[0]!;

    row = await waitFor(
      async () => (await rows<{ trace_id: string; kafka_partition: number; kafka_offset: string }>(`SELECT trace_id, kafka_partition, toString(kafka_offset) AS kafka_offset FROM ${database}.events WHERE id = {id:String}`, { id: eventId }))[0],
      { timeoutMs: 20_000, intervalMs: 100, description: `event ${eventId} in ClickHouse` },
    );
    expect(row.trace_id).toBe(traceId);

    spans = await waitFor(
      async () => {
        const found = await rows<SpanRow>(
          `SELECT TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, toString(Duration) AS Duration, SpanAttributes,
                  Links.TraceId, Links.SpanId, Links.Attributes
           FROM ${database}.otel_traces WHERE TraceId = {t:String} ORDER BY Timestamp`,
          { t: traceId },
        );
        return found.length >= 5 && found.some((s) => s.SpanAttributes['floodgate.hop'] === 'clickhouse.insert') ? found : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, description: `the spans of trace ${traceId}` },
    );

    expect(spans.length).toBeGreaterThanOrEqual(5);
    expect(new Set(spans.map((s) => s.ServiceName))).toEqual(new Set(['floodgate-gateway', 'floodgate-ingest-worker', 'floodgate-sink']));
    const hop = (name: string) => {
      const found = spans.filter((s) => s.SpanAttributes['floodgate.hop'] === name);
      expect(found, name).toHaveLength(1);
      return found[0]!;
    };
    const gateway = hop('gateway.request');
    const batch = hop('ingest.batch');
    const send = hop('kafka.produce');
    const consume = hop('sink.consume');
    const insert = hop('clickhouse.insert');

    // gateway: the server span, a child of the client's span, with the answer and the event id.
    expect(gateway).toMatchObject({ SpanName: 'POST /v1/events', SpanKind: 'SPAN_KIND_SERVER', ServiceName: 'floodgate-gateway', ParentSpanId: clientSpanId });
    expect(gateway.SpanAttributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/v1/events', 'http.response.status_code': '202', 'floodgate.tenant': 'default', 'user_agent.original': 'tracing-test/1.0' });
    expect(JSON.parse(gateway.SpanAttributes['floodgate.event.ids']!)).toEqual([eventId]);

    // ingest worker: the micro-batch under the request, linked to it; the Kafka send under the batch.
    expect(batch).toMatchObject({ SpanName: 'ingest batch', ServiceName: 'floodgate-ingest-worker', ParentSpanId: gateway.SpanId });
    expect(batch['Links.SpanId']).toContain(gateway.SpanId);
    expect(send).toMatchObject({ SpanName: `send ${topic}`, SpanKind: 'SPAN_KIND_PRODUCER', ServiceName: 'floodgate-ingest-worker', ParentSpanId: batch.SpanId });
    expect(send.SpanAttributes).toMatchObject({ 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.batch.message_count': '1' });
    expect(JSON.parse(send.SpanAttributes['floodgate.kafka.partitions']!)).toContain(Number(row.kafka_partition));

    // sink: the batch under the Kafka send (the message's traceparent), on the row's partition.
    expect(consume).toMatchObject({ SpanName: `process ${topic}`, SpanKind: 'SPAN_KIND_CONSUMER', ServiceName: 'floodgate-sink', ParentSpanId: send.SpanId });
    expect(consume.SpanAttributes['messaging.destination.partition.id']).toBe(String(row.kafka_partition));
    expect(Number(consume.SpanAttributes['floodgate.kafka.first_offset'])).toBeLessThanOrEqual(Number(row.kafka_offset));
    expect(Number(consume.SpanAttributes['floodgate.kafka.last_offset'])).toBeGreaterThanOrEqual(Number(row.kafka_offset));

    // ClickHouse insert: under the sink batch, linked to the event with its id and offset.
    expect(insert).toMatchObject({ SpanName: 'INSERT events', SpanKind: 'SPAN_KIND_CLIENT', ServiceName: 'floodgate-sink', ParentSpanId: consume.SpanId });
    expect(insert.SpanAttributes).toMatchObject({ 'db.system.name': 'clickhouse', 'db.namespace': database, 'db.collection.name': 'events', 'db.operation.name': 'INSERT' });
    const link = insert['Links.Attributes'].findIndex((a) => a['messaging.message.id'] === eventId);
    expect(link).toBeGreaterThanOrEqual(0);
    expect(insert['Links.TraceId'][link]).toBe(traceId);
    expect(insert['Links.SpanId'][link]).toBe(send.SpanId);
    expect(insert['Links.Attributes'][link]!['messaging.kafka.offset']).toBe(row.kafka_offset);
  });

  it('`floodgate trace <event id>` prints every hop in order with its duration, partition, offset and batch', async () => {
    expect(eventId).not.toBe('');
    const env = { ...process.env, CLICKHOUSE_DATABASE: database };
    const { stdout } = await run(process.execPath, [FLOODGATE_BIN, 'trace', eventId], { env, cwd: REPO_ROOT });
    process.stdout.write(`${stdout}\n`);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe(`Journey of event ${eventId}`);
    expect(stdout).toMatch(new RegExp(`trace ${traceId} · started .* · end-to-end \\d+(\\.\\d+)? (ms|s) · 5 spans from 3 services · in ClickHouse`));
    expect(stdout).toContain(`Kafka partition ${row!.kafka_partition}, offset ${row!.kafka_offset}`);
    const expected = [
      ['floodgate-gateway', 'POST /v1/events'],
      ['floodgate-ingest-worker', 'ingest batch'],
      ['floodgate-ingest-worker', `send ${topic}`],
      ['floodgate-sink', `process ${topic}`],
      ['floodgate-sink', 'INSERT events'],
    ];
    let at = 0;
    expected.forEach(([service, span], i) => {
      const index = lines.findIndex((line, n) => n > at && line.startsWith(`${i + 1} `) && line.includes(service!) && line.includes(span!));
      expect(index, `hop ${i + 1}: ${service} ${span}`).toBeGreaterThan(at);
      expect(lines[index]).toMatch(/[+-]\d+(\.\d+)? (ms|s)\s+\d+(\.\d+)? (ms|s)\s+[·█]+$/);
      at = index;
    });
    expect(stdout).toContain(`this event at offset ${row!.kafka_offset}`);
    expect(stdout).toMatch(/└ events: batch of \d+ row\(s\)/);

    const json = JSON.parse((await run(process.execPath, [FLOODGATE_BIN, 'trace', traceId, '--json'], { env, cwd: REPO_ROOT })).stdout);
    expect(json.traceId).toBe(traceId);
    expect(json.event.id).toBe(eventId);
    expect(json.hops.map((h: { hop: string }) => h.hop)).toEqual(['gateway.request', 'ingest.batch', 'kafka.produce', 'sink.consume', 'clickhouse.insert']);

    const list = (await run(process.execPath, [FLOODGATE_BIN, 'traces', '--slowest', '5', '--since', '10m'], { env, cwd: REPO_ROOT })).stdout;
    expect(list).toMatch(/^Slowest 1 journey\(s\) started in the last 10m/);
    expect(list).toContain(traceId);
    expect(list).toContain(eventId);

    const missing = await run(process.execPath, [FLOODGATE_BIN, 'trace', 'no-such-event'], { env, cwd: REPO_ROOT }).catch((error: { code: number; stderr: string }) => error);
    expect(missing).toMatchObject({ code: 1 });
    expect((missing as { stderr: string }).stderr).toMatch(/^floodgate: error NOT_FOUND: no trace for no-such-event/);
  });

  it('with OTEL_EXPORTER_OTLP_ENDPOINT set, the same spans also reach the OTLP/HTTP receiver', async () => {
    const traceBytes = Buffer.from(traceId, 'hex');
    const services = ['floodgate-gateway', 'floodgate-ingest-worker', 'floodgate-sink'];
    const ours = await waitFor(
      () => {
        const hits = otlpRequests.filter((r) => r.body.includes(traceBytes));
        return services.every((s) => hits.some((r) => r.body.includes(Buffer.from(s)))) ? hits : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, description: 'spans of all three services at the OTLP receiver' },
    );
    for (const request of ours) {
      expect(request.path).toBe('/v1/traces');
      expect(request.contentType).toBe('application/x-protobuf');
    }
    for (const name of ['POST /v1/events', 'ingest batch', `send ${topic}`, `process ${topic}`, 'INSERT events']) {
      expect(ours.some((r) => r.body.includes(Buffer.from(name))), name).toBe(true);
    }
  });

  it('the /ui/traces page on the admin port: admin token, search by event id, the waterfall with every hop, a screenshot', async () => {
    expect(eventId).not.toBe('');
    expect((await fetch(`${pipeline.adminUrl}/ui/api/traces`)).status).toBe(401);
    expect((await fetch(`${pipeline.adminUrl}/ui/traces`)).status).toBe(401);
    const api = await fetch(`${pipeline.adminUrl}/ui/api/trace/${eventId}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(api.status).toBe(200);

    mkdirSync(ARTIFACTS, { recursive: true });
    const screenshot = path.join(ARTIFACTS, 'traces-ui.png');
    const profile = mkdtempSync(path.join(tmpdir(), 'floodgate-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      viewport: { width: 1400, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await context.newPage();
      const foreign: string[] = [];
      const errors: string[] = [];
      page.on('request', (request) => {
        if (!request.url().startsWith(pipeline.adminUrl)) foreign.push(request.url());
      });
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });

      // The token once in the address, then a cookie: the page comes back without it.
      await page.goto(`${pipeline.adminUrl}/ui/traces?token=${ADMIN_TOKEN}`);
      expect(page.url()).toBe(`${pipeline.adminUrl}/ui/traces`);
      await page.locator('[data-testid="journey-row"]').first().waitFor({ timeout: 10_000 });

      await page.fill('#search', eventId);
      await page.click('#search-button');
      const hops = page.locator('#waterfall [data-testid="hop"]');
      await hops.nth(4).waitFor({ timeout: 10_000 });
      expect(await hops.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-hop')))).toEqual([
        'gateway.request',
        'ingest.batch',
        'kafka.produce',
        'sink.consume',
        'clickhouse.insert',
      ]);
      const bars = await page.locator('#waterfall .bar').evaluateAll((nodes) => nodes.map((n) => (n as HTMLElement).getBoundingClientRect().width));
      expect(bars).toHaveLength(5);
      for (const width of bars) expect(width).toBeGreaterThan(0);
      expect(await page.locator('#journey-title').textContent()).toBe(traceId);
      expect(await page.locator('[data-testid="journey-state"]').textContent()).toBe('in ClickHouse');
      expect(await page.locator('#facts').textContent()).toContain(eventId);
      await page.screenshot({ path: screenshot, fullPage: true });
      expect(foreign).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
  });
});
