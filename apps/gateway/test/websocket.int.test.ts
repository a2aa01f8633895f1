import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse } from '@floodgate/clickhouse';
import { clickhouseUrl } from '@floodgate/config';
import { freePort, metricValue, scrapeMetrics, stackConfigForTests, startPipeline, uniqueName, waitFor, type RunningPipeline } from '@floodgate/testkit';
import { childrenOf, startNeverReadingClient } from './helpers.ts';

/** WS /v1/stream end to end: gateway (2 processes) → Kafka → sink → ClickHouse. */
const KEY = 'key-ws-test-0001';

interface Ack {
  ack?: number;
  nack?: number | null;
  accepted?: number;
  ids?: string[];
  error?: { code: string };
}

describe('gateway WebSocket stream', () => {
  const stack = stackConfigForTests();
  const database = uniqueName('it_ws');
  let pipeline: RunningPipeline;
  let clickhouse: ClickHouseClient;
  let wsUrl: string;

  beforeAll(async () => {
    pipeline = await startPipeline({
      env: {
        KAFKA_TOPIC: uniqueName('ws'),
        KAFKA_DLQ_TOPIC: uniqueName('ws_dlq'),
        SINK_GROUP_ID: uniqueName('ws_sink'),
        CLICKHOUSE_DATABASE: database,
        GATEWAY_PORT: String(await freePort()),
        ADMIN_PORT: '0',
        SINK_ADMIN_PORT: '0',
        GATEWAY_PROCESSES: '2',
        FLOODGATE_API_KEYS: `ws-tenant:${KEY}`,
        WS_MAX_MESSAGE_BYTES: String(64 * 1024),
        WS_MAX_BUFFERED_BYTES: String(64 * 1024),
        WS_MAX_UNACKED: '1000',
        WS_SLOW_READER_CLOSE_MS: '3000',
      },
      onLogLine: (app, line) => {
        if (/"level":"(error|fatal)"/.test(line)) process.stderr.write(`[${app}] ${line}\n`);
      },
    });
    wsUrl = `${pipeline.gatewayUrl.replace('http', 'ws')}/v1/stream`;
    clickhouse = createClickHouse({ url: clickhouseUrl(stack), username: stack.CLICKHOUSE_USER, password: stack.CLICKHOUSE_PASSWORD, database: 'default' });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await clickhouse?.close();
  });

  function connect(viaQuery: boolean): Promise<WebSocket> {
    const ws = viaQuery ? new WebSocket(`${wsUrl}?api_key=${KEY}`) : new WebSocket(wsUrl, { headers: { authorization: `Bearer ${KEY}` } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  }

  it('refuses an upgrade without a valid key with 401', async () => {
    const ws = new WebSocket(wsUrl);
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(401);
  });

  it('4 connections send 10,000 events: every seq acked exactly once, and ClickHouse holds exactly the acked events', async () => {
    const total = 10_000;
    const perConnection = total / 4;
    const window = 8;
    const acksBySeq = new Map<string, number>();
    const ids: string[] = [];
    const nacks: Ack[] = [];

    async function run(connection: number): Promise<void> {
      const ws = await connect(connection % 2 === 1);
      let sent = 0;
      let seq = 0;
      let inFlight = 0;
      let acked = 0;
      await new Promise<void>((resolve, reject) => {
        const pump = () => {
          while (inFlight < window && sent < perConnection) {
            const size = Math.min(perConnection - sent, 1 + ((seq * 13 + connection) % 50));
            const events = Array.from({ length: size }, (_, i) => ({ type: 'ws-load', subject: `c${connection}`, data: { n: sent + i } }));
            ws.send(JSON.stringify(size === 1 && seq % 2 === 0 ? { seq, event: events[0] } : { seq, events }));
            seq++;
            sent += size;
            inFlight++;
          }
          if (acked === perConnection) resolve();
        };
        ws.on('message', (raw) => {
          const reply = JSON.parse(raw.toString()) as Ack;
          inFlight--;
          if (reply.ack === undefined) {
            nacks.push(reply);
            reject(new Error(`nack: ${raw.toString()}`));
            return;
          }
          const key = `${connection}:${reply.ack}`;
          acksBySeq.set(key, (acksBySeq.get(key) ?? 0) + 1);
          acked += reply.accepted!;
          ids.push(...reply.ids!);
          pump();
        });
        ws.on('error', reject);
        pump();
      });
      ws.close(1000);
    }

    await Promise.all([0, 1, 2, 3].map(run));
    expect(nacks).toEqual([]);
    expect([...acksBySeq.values()].every((n) => n === 1)).toBe(true);
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);

    const count = async () => {
      const r = await clickhouse.query({ query: `SELECT count() AS n FROM ${database}.events WHERE type = 'ws-load'`, format: 'JSONEachRow' });
      return Number((await r.json<{ n: number }>())[0]?.n ?? 0);
    };
    await waitFor(async () => (await count()) >= total, { timeoutMs: 60_000, intervalMs: 250, description: `${total} WebSocket events in ClickHouse` });
    const rows = await clickhouse.query({ query: `SELECT id, tenant FROM ${database}.events WHERE type = 'ws-load'`, format: 'JSONEachRow' });
    const landed = await rows.json<{ id: string; tenant: string }>();
    expect(landed).toHaveLength(total);
    expect(new Set(landed.map((r) => r.tenant))).toEqual(new Set(['ws-tenant']));
    expect(landed.map((r) => r.id).sort()).toEqual([...ids].sort());
  });

  it('nacks an oversized message and keeps the connection', async () => {
    const ws = await connect(false);
    const replies: Ack[] = [];
    ws.on('message', (raw) => replies.push(JSON.parse(raw.toString()) as Ack));
    ws.send(JSON.stringify({ seq: 41, events: [{ type: 'big', data: { s: 'x'.repeat(70 * 1024) } }] }));
    ws.send(JSON.stringify({ seq: 42, event: { type: 'small-after-big' } }));
    await waitFor(() => replies.length === 2, { timeoutMs: 10_000, description: 'two replies' });
    expect(replies[0]).toMatchObject({ nack: 41, error: { code: 'WS_MESSAGE_TOO_LARGE' } });
    expect(replies[1]).toMatchObject({ ack: 42, accepted: 1 });
    ws.close(1000);
  });

  it('closes with 4008 a client that never reads its acks, and the close frame reaches it once it reads', async () => {
    // The client (Python: Node cannot fix a socket's receive buffer) sends a message of 300
    // events (a ~37 KB ack each) every 20 ms and reads nothing. However much the kernel buffers,
    // the acks pile up in the gateway until it throttles the client and closes it: over
    // WS_MAX_BUFFERED_BYTES, or throttled for WS_SLOW_READER_CLOSE_MS. The test waits for the
    // gateway to count the close, and only then has the client read.
    const slowReaderClosed = async () =>
      metricValue(await scrapeMetrics(pipeline.adminUrl), 'floodgate_gateway_websocket_closed_by_server_total', 'reason="slow_reader"') ?? 0;
    const processes = childrenOf(pipeline.pids.gateway!);
    const closedBefore = await slowReaderClosed();
    const { port } = new URL(pipeline.gatewayUrl);
    const client = startNeverReadingClient({ host: '127.0.0.1', port: Number(port), key: KEY, events: 300, intervalSeconds: 0.02, maxCount: 20_000 });
    // (A process that died would take its count with it: stop waiting then.)
    const processesChanged = () => childrenOf(pipeline.pids.gateway!).join() !== processes.join();
    await waitFor(async () => (await slowReaderClosed()) > closedBefore || processesChanged(), {
      timeoutMs: 120_000,
      intervalMs: 100,
      description: 'the gateway to close the slow reader',
    });
    const result = await client.read();
    // Closing it touched nothing that was gone: the same gateway processes, none restarted.
    expect(childrenOf(pipeline.pids.gateway!)).toEqual(processes);
    expect(result.close).toBe(4008);
    expect(result.acks).toBeGreaterThan(0);
    expect(await slowReaderClosed()).toBe(closedBefore + 1);
    expect(metricValue(await scrapeMetrics(pipeline.adminUrl), 'floodgate_gateway_process_restarts_total')).toBe(0);
  });
});
