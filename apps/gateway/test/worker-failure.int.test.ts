import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { request } from 'undici';
import type { Piscina } from 'piscina';
import { loadConfig } from '@floodgate/config';
import { createKafka, ensureTopics } from '@floodgate/kafka';
import { createLogger } from '@floodgate/logging';
import { startPrivateKafka, uniqueName, waitFor, type PrivateKafka } from '@floodgate/testkit';
import { createGateway, type Gateway } from '../src/gateway.ts';
import { gatewaySchema } from '../src/config.ts';
import { createIngestPool } from '../src/ingest-pool.ts';

/**
 * An ingest thread that dies with requests in flight (here: terminated while its Kafka send waits
 * on a frozen private broker). Its requests' fate is unknown (OVERLOADED, details.outcome
 * "unknown"), and each is answered in its own protocol: an HTTP request with the error body, a
 * WebSocket message with a nack carrying its seq, so the client knows which message to resend.
 */
const KEY = 'key-worker-failure-0001';

describe('an ingest thread that dies with requests in flight', () => {
  let kafka: PrivateKafka;
  let gateway: Gateway;
  let pool: Piscina;
  let base: string;

  beforeAll(async () => {
    kafka = await startPrivateKafka('worker-failure');
    const topic = uniqueName('worker_failure');
    const logger = createLogger('test', { level: process.env.TEST_VERBOSE ? 'debug' : 'fatal' });
    await ensureTopics(createKafka({ brokers: [kafka.brokers], clientId: 'worker-failure-test', logger }), [{ topic, partitions: 1 }]);
    const config = loadConfig(gatewaySchema, {
      env: {
        KAFKA_BROKERS: kafka.brokers,
        KAFKA_TOPIC: topic,
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_PORT: '0',
        INGEST_THREADS: '1',
        KAFKA_SEND_TIMEOUT_MS: '60000',
        KAFKA_COMPRESSION: 'none',
        FLOODGATE_API_KEYS: `t:${KEY}`,
      },
    });
    // vitest's process has no tsx loader: the worker thread gets it to load worker.ts.
    pool = createIngestPool(config, undefined, uniqueName('flush'), ['--import', 'tsx']);
    gateway = createGateway(config, logger, undefined, { pool });
    const { port } = await gateway.listen();
    base = `127.0.0.1:${port}`;
  });

  afterAll(async () => {
    kafka?.thaw();
    await gateway?.close();
    await kafka?.destroy();
  });

  it('answers the WebSocket message with a nack carrying its seq, and the HTTP request with the error body', async () => {
    const ws = new WebSocket(`ws://${base}/v1/stream`, { headers: { authorization: `Bearer ${KEY}` } });
    const replies: Record<string, unknown>[] = [];
    ws.on('message', (data) => replies.push(JSON.parse(String(data)) as Record<string, unknown>));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    // The thread's producer connects on the first message; a fresh broker may still be loading its
    // coordinators (a nack KAFKA_UNAVAILABLE): warm up until one message is acknowledged.
    let seq = 0;
    await waitFor(
      async () => {
        seq++;
        const before = replies.length;
        ws.send(JSON.stringify({ seq, event: { type: 'warm' } }));
        await waitFor(() => replies.length > before, { timeoutMs: 30_000, description: `the answer to warm-up seq ${seq}` });
        return replies[replies.length - 1]!.ack === seq;
      },
      { timeoutMs: 90_000, intervalMs: 500, description: 'a first ack from the ingest thread' },
    );
    replies.length = 0;

    await kafka.freeze();
    ws.send(JSON.stringify({ seq: 42, events: [{ type: 'stuck' }] }));
    const http = request(`http://${base}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: '{"type":"stuck"}' });
    await waitFor(() => gateway.state().pendingRequests === 2, { timeoutMs: 30_000, description: 'both requests with the ingest thread' });
    await pool.threads[0]!.terminate();

    const answer = await http;
    expect({ status: answer.statusCode, body: await answer.body.json() }).toEqual({
      status: 503,
      body: { error: { code: 'OVERLOADED', message: 'the ingest worker failed; the events may or may not have been written, retry later', details: { outcome: 'unknown' } } },
    });
    await waitFor(() => replies.length === 1, { timeoutMs: 30_000, description: 'the answer to seq 42' });
    expect(replies[0]).toEqual({
      nack: 42,
      error: { code: 'OVERLOADED', message: 'the ingest worker failed; the events may or may not have been written, retry later', details: { outcome: 'unknown' } },
    });
    ws.close();
  });
});
