import { Piscina } from 'piscina';
import { errorBody, FloodgateError, httpStatusOf, type FloodgateErrorCode } from '@floodgate/errors';
import { DEFAULT_EVENT_LIMITS, FORMAT_OF_CONTENT_TYPE } from '@floodgate/event-model';
import type { Logger } from '@floodgate/logging';
import { CONTENT_ENCODINGS, INGEST_WORKER_FILE, KIND_CODE, type ContentEncoding, type IngestCounts, type IngestReply, type IngestWorkerData } from '@floodgate/ingest-worker';
import { clickhouseUrl } from '@floodgate/config';
import { TraceDecision, flushWorkerTelemetry } from '@floodgate/telemetry';
import type { Tracing } from '@floodgate/telemetry/sdk';
import { uws, type HttpResponse, type us_listen_socket, type WebSocket } from './uws.ts';
import { Microbatcher } from './microbatcher.ts';
import { ApiKeyStore, loadApiKeysFile, parseApiKeysVariable, presentedKey, type ApiKey } from './auth.ts';
import { RateLimiter, retryAfterSeconds, type RateLimits } from './rate-limit.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import { CANARY_TENANT } from './canary.ts';
import { abortRequestTrace, endRequestTrace, startRequestTrace, type RequestTrace } from './request-trace.ts';
import type { GatewayConfig } from './config.ts';

const STATUS_LINE: Record<number, string> = {
  200: '200 OK',
  202: '202 Accepted',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

/** WebSocket close codes, documented in docs/gateway.md. */
export const WS_CLOSE = Object.freeze({
  GOING_AWAY: 1001,
  SLOW_READER: 4008,
});

/** How long a draining gateway keeps answering requests that arrive on already open connections. */
const DRAIN_GRACE_MS = 500;

const DEV_TENANT: ApiKey = { id: 'auth-off', tenant: 'default', sha256: Buffer.alloc(32), eventsPerSecond: 0, requestsPerSecond: 0 };

export interface GatewayState {
  /** Pool up and not draining. */
  ready: boolean;
  pendingRequests: number;
}

export interface Gateway {
  listen(): Promise<{ port: number }>;
  state(): GatewayState;
  metrics: GatewayMetrics;
  /** Stops accepting, answers everything in flight (Kafka ack or 503), then stops the workers. */
  close(): Promise<void>;
}

interface StreamState {
  key: ApiKey;
  unacked: number;
  /** Messages held back while the client reads too slowly. */
  held: Buffer[];
  /** When the connection was last found throttled (0: it is not). */
  throttledSince: number;
  /**
   * Set by the close handler, whoever closed (the client, our own end(), the idle timeout), before
   * anything else can run: uWS throws on any use of a closed WebSocket, so nothing touches `ws`
   * once it is set. Replies that arrive later are counted and dropped.
   */
  closed: boolean;
}

/**
 * `tracing`: this process's OpenTelemetry set-up (docs/tracing.md); without it nothing is traced and
 * no trace context is passed on.
 */
export function createGateway(config: GatewayConfig, logger: Logger, tracing?: Tracing): Gateway {
  const flushChannel = `floodgate-telemetry-${process.pid}`;
  const workerData: IngestWorkerData = {
    kafkaBrokers: config.KAFKA_BROKERS,
    topic: config.KAFKA_TOPIC,
    sendTimeoutMs: config.KAFKA_SEND_TIMEOUT_MS,
    compression: config.KAFKA_COMPRESSION,
    maxDecompressedBytes: config.MAX_DECOMPRESSED_BYTES,
    limits: {
      ...DEFAULT_EVENT_LIMITS,
      maxEventsPerRequest: config.MAX_EVENTS_PER_REQUEST,
      maxEventBytes: config.MAX_EVENT_BYTES,
      maxDepth: config.MAX_NESTING_DEPTH,
    },
    ...(tracing
      ? {
          telemetry: {
            spanStore: { url: clickhouseUrl(config), username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, database: config.CLICKHOUSE_DATABASE },
            flushChannel,
          },
        }
      : {}),
  };
  const pool = new Piscina({
    filename: INGEST_WORKER_FILE,
    minThreads: config.INGEST_THREADS,
    maxThreads: config.INGEST_THREADS,
    // A task spends most of its life waiting for Kafka's ack, and the thread's producer merges the
    // sends of all tasks waiting at once into one request: with few tasks in flight, sparse
    // traffic (one request per micro-batch) would be capped at tasks / produce latency.
    concurrentTasksPerWorker: config.INGEST_TASKS_PER_THREAD,
    // A kafkajs producer lives in the thread: 'sync' atomics would park its event loop between tasks.
    atomics: 'disabled',
    workerData,
  });
  const metrics = createGatewayMetrics();
  const batcher = new Microbatcher(pool, {
    maxRequests: config.MICROBATCH_MAX_REQUESTS,
    maxWaitMs: config.MICROBATCH_MAX_WAIT_MS,
    maxPending: config.MAX_PENDING_REQUESTS,
    onTaskDone: (result) => {
      if (result.kafkaMs !== undefined) metrics.kafkaProduceDuration.observe(result.kafkaMs / 1000);
      countIngest(result.counts);
    },
    onTaskError: (error) => logger.error({ err: error }, 'ingest task failed'),
    // Replies are guarded against connections that went away; one that still throws is a bug,
    // reported here while the rest of its micro-batch is answered.
    onCallbackError: (error) => logger.error({ err: error }, 'answering a request failed'),
  });
  pool.on('error', (error: unknown) => logger.error({ err: error }, 'ingest worker thread died'));

  const keys = new ApiKeyStore([
    ...(config.FLOODGATE_API_KEYS ? parseApiKeysVariable(config.FLOODGATE_API_KEYS) : []),
    ...(config.FLOODGATE_API_KEYS_FILE ? loadApiKeysFile(config.FLOODGATE_API_KEYS_FILE) : []),
    // The primary's freshness canary (canary.ts) comes in through the front door like any client.
    ...(config.FLOODGATE_CANARY_KEY ? parseApiKeysVariable(`${CANARY_TENANT}:${config.FLOODGATE_CANARY_KEY}`) : []),
  ]);
  const authOff = config.FLOODGATE_AUTH === 'off';
  if (authOff) logger.warn('FLOODGATE_AUTH=off: requests without a key are accepted as tenant "default" (unsafe)');
  const limiter = new RateLimiter();
  // Limits are per key across the host: each process enforces its share.
  const share = (perSecond: number) => perSecond / config.GATEWAY_PROCESSES;
  const limitsOf = (key: ApiKey): RateLimits => ({
    eventsPerSecond: share(key.eventsPerSecond || config.RATE_LIMIT_EVENTS_PER_SEC),
    requestsPerSecond: share(key.requestsPerSecond || config.RATE_LIMIT_REQUESTS_PER_SEC),
  });

  let listenSocket: us_listen_socket | undefined;
  let boundPort = config.GATEWAY_PORT;
  let closing = false;
  /** HTTP requests read or being answered; shutdown waits for them. */
  let inProgress = 0;
  const streams = new Set<WebSocket<StreamState>>();

  function authenticate(authorization: string, xApiKey: string, queryKey: string): ApiKey | undefined {
    const presented = presentedKey(authorization, xApiKey, queryKey);
    if (presented) return keys.authenticate(presented);
    return authOff ? DEV_TENANT : undefined;
  }

  function send(res: HttpResponse, status: number, body: string, extraHeaders?: Record<string, string>): void {
    res.cork(() => {
      res.writeStatus(STATUS_LINE[status] ?? `${status}`);
      res.writeHeader('content-type', 'application/json');
      if (extraHeaders) for (const [k, v] of Object.entries(extraHeaders)) res.writeHeader(k, v);
      // While draining, keep-alive connections are closed after their answer.
      res.end(body, closing);
    });
  }

  /** Retry-After for a 503: the time the backlog needs at the measured drain rate. */
  function overloadRetryAfter(): Record<string, string> {
    return { 'retry-after': retryAfterSeconds(batcher.backlogSeconds()) };
  }

  function sendError(res: HttpResponse, route: string, started: number, code: FloodgateErrorCode, message: string, headers?: Record<string, string>): void {
    const status = httpStatusOf(code);
    // RFC 9110: a 401 names the scheme it wants.
    const challenge = status === 401 ? { 'www-authenticate': 'Bearer realm="floodgate"' } : undefined;
    send(res, status, errorBody(code, message), { ...challenge, ...(headers ?? (status === 503 ? overloadRetryAfter() : undefined)) });
    observe(route, status, started, code);
    // Refused at the edge, before parsing: its events are not counted; one request counts as one.
    metrics.events.received.inc({ component: 'gateway' });
    metrics.events.dropped.inc({ component: 'gateway', code });
  }

  /** The ingest threads' counts of one micro-batch (the gateway received what they parsed, sent what Kafka acknowledged). */
  function countIngest(counts: IngestCounts | undefined): void {
    if (!counts) return;
    const { events } = metrics;
    for (const component of ['gateway', 'ingest'] as const) {
      events.received.inc({ component }, counts.received);
      events.sent.inc({ component }, counts.sent);
    }
    if (counts.errored > 0) events.errored.inc({ component: 'ingest', code: counts.produceFailure ?? 'KAFKA_UNAVAILABLE' }, counts.errored);
    for (const [code, n] of Object.entries(counts.dropped)) events.dropped.inc({ component: 'ingest', code }, n);
    if (counts.produceFailure) metrics.kafkaProduceFailures.inc({ component: 'ingest', code: counts.produceFailure });
  }

  function observe(route: string, status: number, started: number, code?: string): void {
    metrics.requests.inc({ route, status });
    metrics.requestDuration.observe({ route }, (performance.now() - started) / 1000);
    if (code) metrics.rejected.inc({ code });
  }

  const app = uws.App();

  app.post('/v1/events', (res, req) => {
    const started = performance.now();
    const receivedAtMs = Date.now();
    const route = '/v1/events';
    let aborted = false;
    const contentType = (req.getHeader('content-type').split(';')[0] ?? '').trim().toLowerCase() || 'application/json';
    const contentEncoding = req.getHeader('content-encoding').trim().toLowerCase() || 'identity';
    const declaredLength = Number(req.getHeader('content-length') || '0');
    const key = authenticate(req.getHeader('authorization'), req.getHeader('x-api-key'), '');

    if (closing) return sendError(res, route, started, 'OVERLOADED', 'the gateway is shutting down; retry');
    // Tracing: one header read and, without a client traceparent, one random draw; a span only
    // for a sampled request (docs/tracing.md).
    let requestTrace: RequestTrace | undefined;
    let traceparent: string | undefined;
    if (tracing !== undefined) {
      const clientTraceparent = req.getHeader('traceparent');
      const decision = tracing.decide(clientTraceparent);
      if (decision === TraceDecision.SAMPLE) {
        requestTrace = startRequestTrace(
          tracing,
          clientTraceparent,
          {
            route,
            method: 'POST',
            host: config.GATEWAY_HOST,
            port: boundPort,
            clientAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
            userAgent: req.getHeader('user-agent'),
            bodyBytes: declaredLength,
          },
          started,
        );
        traceparent = requestTrace.traceparent;
      } else if (decision === TraceDecision.PROPAGATE) {
        traceparent = clientTraceparent.trim();
      }
    }
    inProgress++;
    let done = false;
    /** Body bytes read so far. */
    let size = 0;
    const finish = () => {
      if (!done) {
        done = true;
        inProgress--;
      }
    };
    const endTrace = (status: number, code: string | undefined, body?: string) => {
      if (requestTrace === undefined) return;
      endRequestTrace(requestTrace, status, code, key?.tenant, body, size);
      requestTrace = undefined;
    };
    res.onAborted(() => {
      aborted = true;
      finish();
      if (requestTrace !== undefined) {
        abortRequestTrace(requestTrace);
        requestTrace = undefined;
      }
    });
    const reject = (code: FloodgateErrorCode, message: string, headers?: Record<string, string>) => {
      finish();
      endTrace(httpStatusOf(code), code);
      sendError(res, route, started, code, message, headers);
    };
    if (!key) return reject('UNAUTHORIZED', 'a valid API key is required (Authorization: Bearer <key> or X-API-Key)');
    const format = FORMAT_OF_CONTENT_TYPE[contentType];
    if (format === undefined) {
      return reject('UNSUPPORTED_MEDIA_TYPE', `content-type ${contentType} is not supported; use one of ${Object.keys(FORMAT_OF_CONTENT_TYPE).join(', ')}`);
    }
    const encoding = CONTENT_ENCODINGS.indexOf(contentEncoding as ContentEncoding);
    if (encoding < 0) return reject('UNSUPPORTED_ENCODING', `content-encoding ${contentEncoding} is not supported; use gzip, deflate or none`);
    if (declaredLength > config.MAX_BODY_BYTES) {
      return reject('BODY_TOO_LARGE', `the body exceeds ${config.MAX_BODY_BYTES} bytes`);
    }
    const limits = limitsOf(key);
    const wait = limiter.admit(key.id, limits);
    if (wait > 0) {
      return reject('RATE_LIMITED', 'over this key\'s rate limit; retry later', { 'retry-after': retryAfterSeconds(wait) });
    }

    const chunks: Buffer[] = [];
    let tooLarge = false;
    res.onData((chunk, isLast) => {
      if (tooLarge) return;
      size += chunk.byteLength;
      if (size > config.MAX_BODY_BYTES) {
        tooLarge = true;
        if (!aborted) reject('BODY_TOO_LARGE', `the body exceeds ${config.MAX_BODY_BYTES} bytes`);
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
      if (!isLast) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      const queued = batcher.submit({
        body,
        tenant: key.tenant,
        receivedAtMs,
        kind: KIND_CODE[format],
        encoding,
        traceparent,
        reply: (reply: IngestReply) => {
          limiter.chargeEvents(key.id, limits, reply.accepted);
          if (reply.accepted > 0) metrics.eventsAccepted.inc(reply.accepted);
          observe(route, reply.status, started, reply.code);
          finish();
          endTrace(reply.status, reply.code, reply.body);
          if (aborted) return;
          send(res, reply.status, reply.body, reply.status === 503 ? overloadRetryAfter() : undefined);
        },
      });
      if (!queued && !aborted) reject('OVERLOADED', 'too many requests in flight; retry later');
    });
  });

  function wsSend(ws: WebSocket<StreamState>, state: StreamState, message: string): void {
    if (state.closed) return;
    ws.send(message);
    if (!state.closed && ws.getBufferedAmount() > config.WS_MAX_BUFFERED_BYTES) closeSlowReader(ws, state);
  }

  function closeSlowReader(ws: WebSocket<StreamState>, state: StreamState): void {
    if (state.closed) return;
    state.closed = true;
    metrics.wsClosed.inc({ reason: 'slow_reader' });
    ws.end(WS_CLOSE.SLOW_READER, 'reader too slow: acknowledgements are not being read');
  }

  function wsHandle(ws: WebSocket<StreamState>, state: StreamState, body: Buffer): void {
    const started = performance.now();
    const route = '/v1/stream';
    const limits = limitsOf(state.key);
    const wait = limiter.admit(state.key.id, limits);
    if (wait > 0) {
      observe(route, 429, started, 'RATE_LIMITED');
      return wsSend(ws, state, JSON.stringify({ nack: seqOf(body), error: { code: 'RATE_LIMITED', message: 'over this key\'s rate limit', retry_after: Number(retryAfterSeconds(wait)) } }));
    }
    state.unacked++;
    // A WebSocket message has no headers: it starts a trace by the sampling ratio only.
    let requestTrace: RequestTrace | undefined;
    if (tracing !== undefined && tracing.decide('') === TraceDecision.SAMPLE) {
      requestTrace = startRequestTrace(
        tracing,
        '',
        { route, method: 'WS', host: config.GATEWAY_HOST, port: boundPort, clientAddress: '', userAgent: '', bodyBytes: body.length },
        started,
      );
    }
    const queued = batcher.submit({
      body,
      tenant: state.key.tenant,
      receivedAtMs: Date.now(),
      kind: KIND_CODE.ws,
      encoding: 0,
      traceparent: requestTrace?.traceparent,
      reply: (reply) => {
        state.unacked--;
        limiter.chargeEvents(state.key.id, limits, reply.accepted);
        if (reply.accepted > 0) metrics.eventsAccepted.inc(reply.accepted);
        observe(route, reply.status, started, reply.code);
        if (requestTrace !== undefined) endRequestTrace(requestTrace, reply.status, reply.code, state.key.tenant, reply.body);
        // The connection may have closed while its message was with the worker (the client left,
        // or we closed it as a slow reader or for idling): the answer has no one to go to.
        if (state.closed) return;
        ws.cork(() => {
          wsSend(ws, state, reply.body);
          releaseHeld(ws, state);
        });
      },
    });
    if (!queued) {
      if (requestTrace !== undefined) endRequestTrace(requestTrace, 503, 'OVERLOADED', state.key.tenant);
      state.unacked--;
      observe(route, 503, started, 'OVERLOADED');
      wsSend(ws, state, JSON.stringify({ nack: seqOf(body), error: { code: 'OVERLOADED', message: 'too many requests in flight; retry later' } }));
    }
  }

  /** Processes held messages while the reader keeps up. */
  function releaseHeld(ws: WebSocket<StreamState>, state: StreamState): void {
    while (!state.closed && state.held.length > 0 && ws.getBufferedAmount() <= config.WS_MAX_BUFFERED_BYTES / 4) {
      wsHandle(ws, state, state.held.shift()!);
    }
    if (state.held.length === 0) state.throttledSince = 0;
  }

  // A reader that stays behind (its buffer over the bound, or its messages held) for
  // WS_SLOW_READER_CLOSE_MS is closed even if it sends nothing more.
  const slowReaderSweep = setInterval(() => {
    const now = Date.now();
    let throttled = 0;
    let held = 0;
    for (const ws of streams) {
      const state = ws.getUserData();
      if (state.closed) continue;
      const behind = state.held.length > 0 || ws.getBufferedAmount() > config.WS_MAX_BUFFERED_BYTES / 4;
      if (!behind) state.throttledSince = 0;
      else if (state.throttledSince === 0) state.throttledSince = now;
      else if (now - state.throttledSince > config.WS_SLOW_READER_CLOSE_MS) closeSlowReader(ws, state);
      if (behind && !state.closed) throttled++;
      held += state.held.length;
    }
    metrics.wsThrottled.set(throttled);
    metrics.wsHeldMessages.set(held);
  }, 500);
  slowReaderSweep.unref();

  app.ws<StreamState>('/v1/stream', {
    // Messages up to 4x the limit are read and nacked (the connection stays); beyond that uWS drops
    // the connection without a close frame (clients see 1006).
    maxPayloadLength: config.WS_MAX_MESSAGE_BYTES * 4,
    idleTimeout: config.WS_IDLE_TIMEOUT_SEC,
    sendPingsAutomatically: true,
    // No uWS limit: past it uWS silently drops what we send, acks and close frame alike (a slow
    // reader would see its connection vanish without the 4008). Our own bound is checked after
    // every send, so what is buffered never exceeds WS_MAX_BUFFERED_BYTES plus one reply.
    maxBackpressure: 0,
    upgrade: (res, req, context) => {
      const started = performance.now();
      const key = authenticate(req.getHeader('authorization'), req.getHeader('x-api-key'), req.getQuery('api_key') ?? '');
      if (closing) return sendError(res, '/v1/stream', started, 'OVERLOADED', 'the gateway is shutting down; retry');
      if (!key) return sendError(res, '/v1/stream', started, 'UNAUTHORIZED', 'a valid API key is required (Authorization header, X-API-Key or ?api_key=)');
      res.upgrade<StreamState>(
        { key, unacked: 0, held: [], throttledSince: 0, closed: false },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (ws) => {
      streams.add(ws);
      metrics.wsConnections.inc();
    },
    message: (ws, message) => {
      const state = ws.getUserData();
      if (state.closed) return;
      if (message.byteLength > config.WS_MAX_MESSAGE_BYTES) {
        metrics.rejected.inc({ code: 'WS_MESSAGE_TOO_LARGE' });
        const head = Buffer.from(message.slice(0, 256));
        return wsSend(ws, state, JSON.stringify({ nack: seqOf(head), error: { code: 'WS_MESSAGE_TOO_LARGE', message: `a message may be at most ${config.WS_MAX_MESSAGE_BYTES} bytes` } }));
      }
      const body = Buffer.copyBytesFrom(new Uint8Array(message));
      // A reader that falls behind is throttled: its messages wait until its buffer drains. One
      // that keeps sending while throttled, past the unacknowledged bound, is closed.
      if (ws.getBufferedAmount() > config.WS_MAX_BUFFERED_BYTES / 4 || state.held.length > 0) {
        if (state.held.length >= config.WS_MAX_UNACKED) return closeSlowReader(ws, state);
        if (state.held.length === 0) state.throttledSince = Date.now();
        state.held.push(body);
        return;
      }
      if (state.unacked >= config.WS_MAX_UNACKED) {
        metrics.rejected.inc({ code: 'WS_TOO_MANY_UNACKED' });
        return wsSend(ws, state, JSON.stringify({ nack: seqOf(body), error: { code: 'WS_TOO_MANY_UNACKED', message: `more than ${config.WS_MAX_UNACKED} messages await their ack; wait for acks before sending more` } }));
      }
      wsHandle(ws, state, body);
    },
    drain: (ws) => releaseHeld(ws, ws.getUserData()),
    close: (ws, code) => {
      const state = ws.getUserData();
      state.closed = true;
      state.held.length = 0;
      streams.delete(ws);
      metrics.wsConnections.dec();
    },
  });

  app.get('/healthz', (res) => send(res, 200, '{"status":"ok"}'));
  app.any('/*', (res, req) => {
    res.onAborted(() => {});
    const started = performance.now();
    const method = req.getMethod().toUpperCase();
    const url = req.getUrl();
    if (url === '/v1/events' || url === '/v1/stream') {
      // RFC 9110: a 405 lists the methods the route takes.
      return sendError(res, url, started, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${url}`, { allow: url === '/v1/events' ? 'POST' : 'GET' });
    }
    sendError(res, 'other', started, 'NOT_FOUND', `no route ${method} ${url}`);
  });

  return {
    metrics,
    listen() {
      return new Promise((resolve, reject) => {
        app.listen(config.GATEWAY_HOST, config.GATEWAY_PORT, (socket) => {
          if (!socket) {
            reject(new FloodgateError('LISTEN_FAILED', `cannot listen on ${config.GATEWAY_HOST}:${config.GATEWAY_PORT}`));
            return;
          }
          listenSocket = socket;
          boundPort = uws.us_socket_local_port(socket);
          resolve({ port: boundPort });
        });
      });
    },
    state() {
      metrics.pending.set(batcher.pendingRequests);
      metrics.poolQueue.set(pool.queueSize);
      return { ready: !closing && pool.threads.length > 0, pendingRequests: batcher.pendingRequests };
    },
    async close() {
      closing = true;
      if (listenSocket) uws.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
      // Requests already on open connections keep arriving for a moment: answer them (503 for new
      // ones, the Kafka ack or 503 for those in flight) before the process goes.
      const deadline = Date.now() + config.SHUTDOWN_TIMEOUT_MS;
      const graceUntil = Date.now() + DRAIN_GRACE_MS;
      while ((inProgress > 0 || batcher.pendingRequests > 0 || Date.now() < graceUntil) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      if (inProgress > 0 || batcher.pendingRequests > 0) {
        logger.warn({ inProgress, pending: batcher.pendingRequests }, 'shutdown timeout with requests in flight');
      }
      clearInterval(slowReaderSweep);
      for (const ws of streams) ws.end(WS_CLOSE.GOING_AWAY, 'server shutting down');
      // piscina terminates its threads: have them export the spans they hold first.
      if (tracing?.recording) await flushWorkerTelemetry(flushChannel, pool.threads.length, 2000);
      await pool.destroy();
    },
  };
}

/** The seq of a WebSocket message, read cheaply for a nack the workers never saw. */
function seqOf(body: Buffer): number | null {
  const match = /"seq"\s*:\s*(\d{1,15})/.exec(body.subarray(0, 256).toString('latin1'));
  return match ? Number(match[1]) : null;
}
