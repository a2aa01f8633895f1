import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type net from 'node:net';
import WebSocket from 'ws';
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
import { childrenOf, rawConnect, rawUpgraded, startNeverReadingClient, upgradeRequest, wsFrame } from './helpers.ts';

/**
 * WebSocket clients that vanish at every stage of a connection: before the upgrade completes,
 * mid-frame, after sending (before their acks), while throttled; and answers that arrive after the
 * gateway itself closed the connection (a slow reader, an idle one). Whatever happens, no gateway
 * process goes down (same pids, no restart counted by the primary, nothing logged at error level),
 * every other request is answered, and HTTP keeps answering.
 */
const KEY = 'key-ws-hostile-0001';
const HOST = '127.0.0.1';

interface Ack {
  ack?: number;
  nack?: number | null;
  accepted?: number;
  error?: { code: string };
}

/** A gateway started for this file, and what the checks around each test need of it. */
interface Subject {
  pipeline: RunningPipeline;
  port: number;
  processes: number;
  /** Its own error and fatal log lines (a failed reply, a crashed process) since the last test. */
  errorLines: string[];
}

async function startGateway(env: NodeJS.ProcessEnv): Promise<Subject> {
  const port = await freePort();
  const errorLines: string[] = [];
  const processes = Number(env.GATEWAY_PROCESSES);
  const pipeline = await startPipeline({
    apps: ['gateway'],
    env: {
      KAFKA_TOPIC: uniqueName('ws_hostile'),
      KAFKA_DLQ_TOPIC: uniqueName('ws_hostile_dlq'),
      GATEWAY_PORT: String(port),
      ADMIN_PORT: '0',
      FLOODGATE_API_KEYS: `ws-hostile:${KEY}`,
      ...env,
    },
    onLogLine: (app, line) => {
      if (!/"level":"(error|fatal)"/.test(line)) return;
      // kafkajs logs the broker errors it retries (a fresh or frozen broker) at error level too.
      if (!line.includes('"component":"kafkajs"')) errorLines.push(line);
      process.stderr.write(`[${app}] ${line}\n`);
    },
  });
  // The primary counts restarts from its start; each test checks that it did not move.
  expect(metricValue(await scrapeMetrics(pipeline.adminUrl), 'floodgate_gateway_process_restarts_total')).toBe(0);
  return { pipeline, port, processes, errorLines };
}

async function post(subject: Subject): Promise<number | string> {
  try {
    const response = await fetch(`${subject.pipeline.gatewayUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, connection: 'close' },
      body: '{"type":"hostile-http"}',
    });
    await response.text();
    return response.status;
  } catch (error) {
    return `${(error as Error).message}: ${String((error as { cause?: unknown }).cause)}`;
  }
}

async function metric(subject: Subject, name: string, labels = ''): Promise<number> {
  return metricValue(await scrapeMetrics(subject.pipeline.adminUrl), name, labels) ?? 0;
}

/** Messages of /v1/stream answered (acks and nacks after the worker), summed over live processes. */
const streamAnswers = (subject: Subject) => metric(subject, 'floodgate_gateway_requests_total', 'route="/v1/stream"');

/**
 * Around every test: the same gateway processes before and after it, no restart counted, nothing
 * logged at error level, no connection left open, and 20 plain HTTP requests answered 202 on new
 * connections (which the kernel spreads over the processes).
 */
function checkUnharmedAroundEachTest(subject: () => Subject): void {
  let processes: number[] = [];
  let restartsBefore = 0;
  beforeEach(async () => {
    const s = subject();
    processes = await waitFor(
      async () => {
        const now = childrenOf(s.pipeline.pids.gateway!);
        const ready = (await (await fetch(`${s.pipeline.adminUrl}/readyz`, { headers: { connection: 'close' } })).json()) as { ready: boolean };
        return now.length === s.processes && ready.ready ? now : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, description: `${subject().processes} ready gateway processes` },
    );
    s.errorLines.length = 0;
    restartsBefore = await metric(s, 'floodgate_gateway_process_restarts_total');
  });
  afterEach(async () => {
    const s = subject();
    await waitFor(async () => (await metric(s, 'floodgate_gateway_websocket_connections')) === 0, {
      timeoutMs: 30_000,
      intervalMs: 100,
      description: 'every WebSocket connection to be closed on the gateway side',
    });
    const statuses = [];
    for (let i = 0; i < 20; i++) statuses.push(await post(s));
    expect(statuses).toEqual(Array(20).fill(202));
    expect(childrenOf(s.pipeline.pids.gateway!)).toEqual(processes);
    expect(await metric(s, 'floodgate_gateway_process_restarts_total')).toBe(restartsBefore);
    expect(s.errorLines).toEqual([]);
  });
}

const message = (seq: number, events: number) =>
  JSON.stringify({ seq, events: Array.from({ length: events }, (_, i) => ({ type: 'hostile-vanish', data: { seq, i } })) });

describe('gateway WebSocket: clients that vanish', () => {
  let gateway: Subject;
  let port: number;

  beforeAll(async () => {
    gateway = await startGateway({
      GATEWAY_PROCESSES: '2',
      // A throttled connection stays throttled until the test makes it vanish: it is closed
      // neither for holding too many messages nor for staying behind too long.
      WS_MAX_BUFFERED_BYTES: String(4 * 1024 * 1024),
      WS_MAX_UNACKED: '100000',
      WS_SLOW_READER_CLOSE_MS: '600000',
    });
    port = gateway.port;
  });

  afterAll(async () => {
    await gateway?.pipeline.stop();
  });

  checkUnharmedAroundEachTest(() => gateway);

  function open(): Promise<WebSocket> {
    const ws = new WebSocket(`ws://${HOST}:${port}/v1/stream`, { headers: { authorization: `Bearer ${KEY}` } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  }

  /** A well-behaved client: sends `count` messages of `size` events, resolves with the replies (ids left out). */
  async function wellBehaved(count: number, size: number): Promise<Ack[]> {
    const ws = await open();
    const replies: Ack[] = [];
    const done = new Promise<void>((resolve, reject) => {
      ws.on('message', (raw) => {
        const { ids, ...reply } = JSON.parse(raw.toString()) as Ack & { ids?: string[] };
        expect(ids ?? []).toHaveLength(reply.accepted ?? 0);
        replies.push(reply);
        if (replies.length === count) resolve();
      });
      ws.once('close', (code) => reject(new Error(`closed with ${code} after ${replies.length} replies`)));
    });
    for (let seq = 0; seq < count; seq++) {
      ws.send(JSON.stringify({ seq, events: Array.from({ length: size }, (_, i) => ({ type: 'hostile-good', data: { seq, i } })) }));
    }
    await done;
    ws.close(1000);
    return replies;
  }

  it('after sending: thirty clients that send a 50-event message and terminate before its ack take no gateway process down, and every other request is answered', async () => {
    const before = await streamAnswers(gateway);
    const clients = await Promise.all(Array.from({ length: 30 }, () => open()));
    // All at once, with well-behaved WebSocket and HTTP requests in the same micro-batches.
    const good = wellBehaved(5, 50).catch((error: Error) => error.message);
    const posts = Promise.all(Array.from({ length: 20 }, () => post(gateway)));
    for (const ws of clients) {
      ws.send(message(1, 50));
      ws.terminate();
    }
    expect(await posts).toEqual(Array(20).fill(202));
    expect(await good).toEqual([0, 1, 2, 3, 4].map((seq) => ({ ack: seq, accepted: 50 })));
    // Every message of the vanished clients was answered (to no one) by a process still alive:
    // each live process reports its own count, and a restarted one would have started at zero.
    await waitFor(async () => (await streamAnswers(gateway)) >= before + 35, { timeoutMs: 30_000, intervalMs: 100, description: '35 stream messages answered' });
    expect(await streamAnswers(gateway)).toBe(before + 35);
  });

  it('after sending: clients that reset the connection right after their message, or after half of the next one, take no gateway process down', async () => {
    const before = await streamAnswers(gateway);
    const sockets = await Promise.all(Array.from({ length: 20 }, () => rawUpgraded(HOST, port, KEY)));
    sockets.forEach((socket, i) => {
      const whole = wsFrame(message(1, 50));
      if (i % 2 === 0) socket.write(whole);
      else socket.write(Buffer.concat([whole, wsFrame(message(2, 50)).subarray(0, 100)]));
      socket.resetAndDestroy();
    });
    // Each reset may come before the gateway read the message (then it is never answered), so
    // the count is bounded, not exact; a process that died would have lost its count.
    const good = await wellBehaved(3, 10);
    expect(good).toEqual([0, 1, 2].map((seq) => ({ ack: seq, accepted: 10 })));
    expect(await streamAnswers(gateway)).toBeGreaterThanOrEqual(before + 3);
    expect(await streamAnswers(gateway)).toBeLessThanOrEqual(before + 23);
  });

  it('before the upgrade completes: clients that reset or leave at once, mid-request, or before reading the 101 take no gateway process down', async () => {
    const request = upgradeRequest(HOST, port, KEY);
    const vanish = async (stage: number) => {
      const socket = await rawConnect(HOST, port);
      socket.on('error', () => {});
      if (stage === 1) socket.write(request.slice(0, 40));
      if (stage === 2) socket.write(request.slice(0, request.length - 3));
      if (stage === 3) socket.write(request);
      if (stage === 4) {
        socket.end(request);
        return;
      }
      socket.resetAndDestroy();
    };
    await Promise.all(Array.from({ length: 50 }, (_, i) => vanish(i % 5)));
    expect(await wellBehaved(2, 5)).toEqual([0, 1].map((seq) => ({ ack: seq, accepted: 5 })));
  });

  it('mid-frame: clients that reset or leave inside a frame header, inside a payload, or inside a close frame take no gateway process down', async () => {
    const frame = wsFrame(message(7, 300));
    const cuts = [1, 2, 5, Math.floor(frame.length / 2), frame.length - 1];
    const sockets = await Promise.all(Array.from({ length: cuts.length * 2 + 2 }, () => rawUpgraded(HOST, port, KEY)));
    sockets.forEach((socket, i) => {
      socket.on('error', () => {});
      if (i < cuts.length * 2) socket.write(frame.subarray(0, cuts[i % cuts.length]));
      else socket.write(wsFrame(Buffer.from([0x03, 0xe8, 0x61]), 8).subarray(0, 4));
      if (i % 2 === 0) socket.resetAndDestroy();
      else socket.end();
    });
    expect(await wellBehaved(2, 5)).toEqual([0, 1].map((seq) => ({ ack: seq, accepted: 5 })));
  });

  it('while throttled: a client that never reads its acks and vanishes while the gateway holds its messages takes no gateway process down', async () => {
    const answeredBefore = await streamAnswers(gateway);
    const client = startNeverReadingClient({ host: HOST, port, key: KEY, events: 300, intervalSeconds: 0.01, maxCount: 20_000 });
    await waitFor(async () => (await metric(gateway, 'floodgate_gateway_websocket_held_messages')) >= 1, {
      timeoutMs: 120_000,
      intervalMs: 100,
      description: 'the gateway to hold messages of the client that never reads',
    });
    const { sent } = await client.reset();
    // Held messages are dropped with their connection, never answered.
    await waitFor(async () => (await metric(gateway, 'floodgate_gateway_websocket_throttled_connections')) === 0, {
      timeoutMs: 30_000,
      intervalMs: 100,
      description: 'no throttled connection left',
    });
    expect(await metric(gateway, 'floodgate_gateway_websocket_held_messages')).toBe(0);
    const answered = (await streamAnswers(gateway)) - answeredBefore;
    expect(answered).toBeGreaterThan(0);
    expect(answered).toBeLessThan(sent);
  });
});

describe('gateway WebSocket: answers that arrive after the gateway closed the connection', () => {
  // Kafka of its own, frozen while a message waits for its acknowledgement: the answer then comes
  // after the gateway closed the connection, whatever the machine's speed.
  let kafka: PrivateKafka;
  let gateway: Subject;

  beforeAll(async () => {
    kafka = await startPrivateKafka('ws-hostile');
    gateway = await startGateway({
      KAFKA_BROKERS: kafka.brokers,
      GATEWAY_PROCESSES: '1',
      // One message in flight per connection: the rest are nacked (small answers, no Kafka), so
      // a client that does not read is throttled, then closed, while its first message waits.
      WS_MAX_UNACKED: '1',
      WS_MAX_BUFFERED_BYTES: String(16 * 1024),
      WS_IDLE_TIMEOUT_SEC: '8',
      KAFKA_SEND_TIMEOUT_MS: '120000',
    });
  });

  afterAll(async () => {
    await gateway?.pipeline.stop();
    await kafka?.destroy();
  });

  checkUnharmedAroundEachTest(() => gateway);

  /** Thaws Kafka and waits for the one pending message to be answered (to no one), or for the process answering it to die. */
  async function thawAndAwaitTheAnswer(answeredBefore: number): Promise<void> {
    const processes = childrenOf(gateway.pipeline.pids.gateway!);
    expect(await streamAnswers(gateway)).toBe(answeredBefore);
    kafka.thaw();
    const processGone = () => !childrenOf(gateway.pipeline.pids.gateway!).includes(processes[0]!);
    await waitFor(async () => (await streamAnswers(gateway)) === answeredBefore + 1 || processGone(), {
      timeoutMs: 90_000,
      intervalMs: 200,
      description: 'the pending message to be answered once Kafka is back',
    });
    expect(processGone()).toBe(false);
    expect(await streamAnswers(gateway)).toBe(answeredBefore + 1);
    // The producer may have given up on the frozen broker: wait for ingest to be back.
    await waitFor(async () => (await post(gateway)) === 202, { timeoutMs: 60_000, intervalMs: 500, description: 'ingest to resume' });
  }

  it('slow reader: the answer to a message that was waiting for Kafka when the gateway closed its connection with 4008 takes no gateway process down', async () => {
    const answeredBefore = await streamAnswers(gateway);
    const closedBefore = await metric(gateway, 'floodgate_gateway_websocket_closed_by_server_total', 'reason="slow_reader"');
    await kafka.freeze();
    try {
      // Small messages back to back: the first waits for Kafka, the others are nacked until the
      // nacks fill the buffers, then held, and the second held one closes the connection.
      const client = startNeverReadingClient({ host: HOST, port: gateway.port, key: KEY, events: 0, intervalSeconds: 0, maxCount: 2_000_000 });
      await waitFor(async () => (await metric(gateway, 'floodgate_gateway_websocket_closed_by_server_total', 'reason="slow_reader"')) === closedBefore + 1, {
        timeoutMs: 120_000,
        intervalMs: 100,
        description: 'the gateway to close the slow reader',
      });
      await client.reset();
    } catch (error) {
      kafka.thaw();
      throw error;
    }
    await thawAndAwaitTheAnswer(answeredBefore);
  });

  it('idle timeout: the answer to a message that was waiting for Kafka when the gateway closed its silent connection takes no gateway process down', async () => {
    const answeredBefore = await streamAnswers(gateway);
    await kafka.freeze();
    let socket: net.Socket | undefined;
    try {
      // A raw client: it sends one message and then nothing, not even the pongs uWS asks for.
      socket = await rawUpgraded(HOST, gateway.port, KEY);
      let closed = false;
      socket.on('close', () => (closed = true));
      socket.on('error', () => {});
      socket.write(wsFrame(message(1, 5)));
      await waitFor(() => closed, { timeoutMs: 60_000, intervalMs: 100, description: 'the gateway to close the idle connection' });
    } catch (error) {
      kafka.thaw();
      throw error;
    } finally {
      socket?.destroy();
    }
    await thawAndAwaitTheAnswer(answeredBefore);
  });
});
