import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse } from '@floodgate/clickhouse';
import { clickhouseUrl } from '@floodgate/config';
import { freePort, metricValue, stackConfigForTests, startPipeline, uniqueName, waitFor, type RunningPipeline } from '@floodgate/testkit';

const API_KEY = 'metrics-contract-key-0001';
const ADMIN_TOKEN = 'metrics-contract-admin-0001';
const asAdmin = { authorization: `Bearer ${ADMIN_TOKEN}`, connection: 'close' };

/**
 * Issue 12, one metrics contract: the gateway (its edge and its ingest threads) and the sink count
 * events under the same four names with a `component` label, and expose the standard Node.js
 * process metrics under their standard names. Own topic, group and database.
 */
describe('one metrics contract across gateway, ingest and sink', () => {
  const stack = stackConfigForTests();
  const database = uniqueName('it_metrics');
  let pipeline: RunningPipeline;
  let sinkAdmin: string;
  let clickhouse: ClickHouseClient;

  beforeAll(async () => {
    const sinkPort = await freePort();
    sinkAdmin = `http://127.0.0.1:${sinkPort}`;
    pipeline = await startPipeline({
      env: {
        KAFKA_TOPIC: uniqueName('metrics_events'),
        KAFKA_DLQ_TOPIC: uniqueName('metrics_events_dlq'),
        SINK_GROUP_ID: uniqueName('metrics_sink'),
        CLICKHOUSE_DATABASE: database,
        GATEWAY_PORT: String(await freePort()),
        ADMIN_PORT: String(await freePort()),
        SINK_ADMIN_PORT: String(sinkPort),
        SINK_NATS_PREFIX: uniqueName('metrics'),
        FLOODGATE_API_KEYS: `metrics:${API_KEY}`,
        FLOODGATE_ADMIN_TOKEN: ADMIN_TOKEN,
        SINK_FLUSH_MAX_AGE_MS: '300',
      },
      onLogLine: (app, line) => {
        if (/"level":"(error|fatal)"/.test(line)) process.stderr.write(`[${app}] ${line}\n`);
      },
    });
    clickhouse = createClickHouse({ url: clickhouseUrl(stack), username: stack.CLICKHOUSE_USER, password: stack.CLICKHOUSE_PASSWORD, database: 'default' });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await clickhouse?.close();
  });

  const post = (body: string, key?: string) =>
    fetch(`${pipeline.gatewayUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', connection: 'close', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body,
    });

  it('counts received, sent and dropped events per component, and serves process_* / nodejs_* unprefixed', async () => {
    const events = Array.from({ length: 3 }, (_, n) => ({ id: randomUUID(), type: 'metrics.contract', data: { n } }));
    expect((await post(JSON.stringify(events), API_KEY)).status).toBe(202);
    expect((await post('{ not json', API_KEY)).status).toBe(400);
    expect((await post(JSON.stringify(events.slice(0, 1)))).status).toBe(401);

    const sink = await waitFor(
      async () => {
        const text = await (await fetch(`${sinkAdmin}/metrics`, { headers: asAdmin })).text();
        return metricValue(text, 'floodgate_events_sent_total', 'component="sink"') === 3 ? text : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'the sink to count 3 events sent to ClickHouse' },
    );
    expect(metricValue(sink, 'floodgate_events_received_total', 'component="sink"')).toBe(3);
    expect(metricValue(sink, 'floodgate_events_dropped_total', 'component="sink"') ?? 0).toBe(0);

    const gateway = await (await fetch(`${pipeline.adminUrl}/metrics`, { headers: asAdmin })).text();
    expect(metricValue(gateway, 'floodgate_events_received_total', 'component="ingest"')).toBe(4);
    expect(metricValue(gateway, 'floodgate_events_sent_total', 'component="ingest"')).toBe(3);
    expect(metricValue(gateway, 'floodgate_events_dropped_total', 'component="ingest",code="BODY_MALFORMED_JSON"')).toBe(1);
    expect(metricValue(gateway, 'floodgate_events_received_total', 'component="gateway"')).toBe(5);
    expect(metricValue(gateway, 'floodgate_events_sent_total', 'component="gateway"')).toBe(3);
    expect(metricValue(gateway, 'floodgate_events_dropped_total', 'component="gateway",code="UNAUTHORIZED"')).toBe(1);
    expect(metricValue(gateway, 'floodgate_events_errored_total') ?? 0).toBe(0);
    expect(gateway).toMatch(/^# TYPE floodgate_kafka_produce_failures_total counter$/m);

    for (const text of [gateway, sink]) {
      expect(metricValue(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
      expect(metricValue(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
      // The prom-client defaults under a renaming prefix (floodgate_gateway_process_cpu_…) are gone.
      expect(text).not.toMatch(/^floodgate_(gateway|sink)_(process_(cpu|resident|virtual|heap|start|open|max)|nodejs_)/m);
    }
  });

  it('applies one auth rule to every /metrics, one /readyz shape, and says Allow on 405 and WWW-Authenticate on 401', async () => {
    for (const admin of [pipeline.adminUrl, sinkAdmin]) {
      const denied = await fetch(`${admin}/metrics`, { headers: { connection: 'close' } });
      expect(denied.status, admin).toBe(401);
      expect(denied.headers.get('www-authenticate'), admin).toBe('Bearer realm="floodgate-admin"');
      expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      expect((await fetch(`${admin}/metrics`, { headers: asAdmin })).status, admin).toBe(200);
      const ready = await fetch(`${admin}/readyz`, { headers: { connection: 'close' } });
      expect(ready.status, admin).toBe(200);
      const body = (await ready.json()) as { ready: unknown; checks: unknown };
      expect(Object.keys(body).sort(), admin).toEqual(['checks', 'ready']);
      expect(body.ready, admin).toBe(true);
      expect(typeof body.checks, admin).toBe('object');
      const post = await fetch(`${admin}/readyz`, { method: 'POST', headers: { connection: 'close' } });
      expect(post.status, admin).toBe(405);
      expect(post.headers.get('allow'), admin).toMatch(/^GET/);
    }
    const noKey = await post('[]');
    expect(noKey.status).toBe(401);
    expect(noKey.headers.get('www-authenticate')).toBe('Bearer realm="floodgate"');
    const get = await fetch(`${pipeline.gatewayUrl}/v1/events`, { headers: { connection: 'close' } });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });
});
