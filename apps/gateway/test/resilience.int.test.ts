import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import {
  freePort,
  metricValue,
  scrapeMetrics,
  startPipeline,
  startPrivateKafka,
  uniqueName,
  waitFor,
  type PrivateKafka,
  type RunningPipeline,
} from '@floodgate/testkit';
import { childrenOf } from './helpers.ts';

/**
 * The gateway under failure: a crashed gateway process, Kafka stopped and started again, and a
 * SIGTERM with requests in flight. Kafka here is a private broker (own home and ports) so
 * stopping it disturbs no other test; NATS and ClickHouse are the shared ones, used as external.
 */
const KEY = 'key-resilience-0001';

describe('gateway resilience', () => {
  let kafka: PrivateKafka;
  let pipeline: RunningPipeline;

  beforeAll(async () => {
    kafka = await startPrivateKafka('resilience');
    pipeline = await startPipeline({
      apps: ['gateway'],
      env: {
        KAFKA_BROKERS: kafka.brokers,
        KAFKA_TOPIC: uniqueName('resilience'),
        KAFKA_DLQ_TOPIC: uniqueName('resilience_dlq'),
        GATEWAY_PORT: String(await freePort()),
        ADMIN_PORT: '0',
        GATEWAY_PROCESSES: '2',
        FLOODGATE_API_KEYS: `t:${KEY}`,
        KAFKA_SEND_TIMEOUT_MS: '3000',
      },
      onLogLine: () => {},
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await kafka?.destroy();
  });

  // A new connection per request: a kept-alive connection to a process this file kills would fail
  // for the client's reason, not the gateway's.
  async function post(body = '{"type":"r"}') {
    const started = Date.now();
    const response = await fetch(`${pipeline.gatewayUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, connection: 'close' },
      body,
    });
    return { status: response.status, json: (await response.json()) as any, retryAfter: response.headers.get('retry-after'), ms: Date.now() - started };
  }

  async function readiness() {
    const response = await fetch(`${pipeline.adminUrl}/readyz`);
    return { status: response.status, json: (await response.json()) as { ready: boolean; checks: Record<string, unknown> } };
  }

  it('restarts a crashed gateway process, counts the restart, and keeps serving meanwhile', async () => {
    expect((await post()).status).toBe(202);
    expect(metricValue(await scrapeMetrics(pipeline.adminUrl), 'floodgate_gateway_process_restarts_total')).toBe(0);
    const processes = childrenOf(pipeline.pids.gateway!);
    expect(processes).toHaveLength(2);
    process.kill(processes[0]!, 'SIGKILL');
    // Connections the kernel had queued on the killed process's socket are reset with it; once it
    // is gone, the other process keeps answering while the primary forks a replacement.
    await waitFor(() => !existsSync(`/proc/${processes[0]}/stat`) || readFileSync(`/proc/${processes[0]}/stat`, 'utf8').includes(') Z '), {
      timeoutMs: 5000,
      intervalMs: 20,
      description: 'the killed gateway process to be gone',
    });
    // A connection made in the instant the socket goes can still be reset: give the kernel 300 ms.
    // The replacement is forked 250 ms after the exit and needs about a second to listen, so the
    // answers below still come from the surviving process.
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 5; i++) expect((await post()).status).toBe(202);
    await waitFor(async () => {
      const now = childrenOf(pipeline.pids.gateway!);
      return now.length === 2 && !now.includes(processes[0]!) && (await readiness()).json.checks.processes_ready === 2;
    }, { timeoutMs: 20_000, intervalMs: 200, description: 'a replacement gateway process' });
    // The primary counts it: the metric the hostile-client tests expect to stay at 0.
    expect(metricValue(await scrapeMetrics(pipeline.adminUrl), 'floodgate_gateway_process_restarts_total')).toBe(1);
  });

  it('answers 503 with Retry-After within a bounded time while Kafka is down, and resumes when it returns', async () => {
    await kafka.stop();
    const during = [];
    for (let i = 0; i < 6; i++) during.push(await post());
    for (const r of during) {
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe('KAFKA_UNAVAILABLE');
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(r.ms).toBeLessThan(8000);
    }
    await waitFor(async () => (await readiness()).status === 503, { timeoutMs: 15_000, intervalMs: 250, description: '/readyz to report Kafka unreachable' });
    expect((await readiness()).json.checks.kafka_reachable).toBe(false);

    await kafka.start();
    await waitFor(async () => (await post()).status === 202, { timeoutMs: 60_000, intervalMs: 500, description: 'ingest to resume after Kafka returned' });
    await waitFor(async () => (await readiness()).status === 200, { timeoutMs: 15_000, intervalMs: 250, description: '/readyz to recover' });
  });

  it('on SIGTERM answers every request already sent (202 or 503) and exits 0', async () => {
    // One request per connection on connections opened beforehand: every request below is written
    // to an accepted connection, so each must get an HTTP answer, never a reset.
    const connections = 40;
    const agent = new Agent({ connections, pipelining: 1 });
    const url = new URL('/v1/events', pipeline.gatewayUrl);
    const send = (body: string) =>
      request(url, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body }).then(
        async (r) => {
          await r.body.text();
          return r.statusCode;
        },
        (error: Error) => `${(error.cause as { code?: string } | undefined)?.code ?? error.name}: ${error.message}`,
      );
    expect(await Promise.all(Array.from({ length: connections }, () => send('{"type":"warm-up"}')))).toEqual(Array(connections).fill(202));

    let answered = 0;
    const inFlight = Array.from({ length: connections }, (_, i) =>
      send(JSON.stringify(Array.from({ length: 200 }, (_, n) => ({ type: 'drain', data: { i, n } })))).then((status) => {
        answered++;
        return status;
      }),
    );
    await waitFor(() => answered >= 5, { timeoutMs: 10_000, intervalMs: 1, description: 'the first answers' });
    process.kill(pipeline.pids.gateway!, 'SIGTERM');
    const statuses = await Promise.all(inFlight);
    for (const status of statuses) expect([202, 503]).toContain(status);
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThanOrEqual(5);
    expect(await pipeline.exitCode('gateway')).toBe(0);
    await agent.close();
  });
});
