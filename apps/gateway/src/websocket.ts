/**
 * WS /v1/stream: the upgrade (auth), one message = one ack or nack (reply protocol:
 * @floodgate/ingest-worker reply.ts), and slow readers: throttled while behind, closed (4008) when
 * they stay behind.
 */
import { KIND_CODE } from '@floodgate/ingest-worker';
import { nack, seqOf } from '@floodgate/ingest-worker';
import { TraceDecision } from '@floodgate/telemetry';
import type { ApiKey } from './auth.ts';
import { observe, sendError, type GatewayContext } from './context.ts';
import { retryAfterSeconds } from './rate-limit.ts';
import { endRequestTrace, startRequestTrace, type RequestTrace } from './request-trace.ts';
import type { TemplatedApp, WebSocket } from './uws.ts';

/** WebSocket close codes, documented in docs/gateway.md. */
export const WS_CLOSE = Object.freeze({
  GOING_AWAY: 1001,
  SLOW_READER: 4008,
});

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

export interface Streams {
  /** Closes every open stream (1001) and stops the slow-reader sweep: the last step of a drain. */
  closeAll(): void;
}

export function registerStreamRoute(app: TemplatedApp, ctx: GatewayContext): Streams {
  const streams = new Set<WebSocket<StreamState>>();

  function wsSend(ws: WebSocket<StreamState>, state: StreamState, message: string): void {
    if (state.closed) return;
    ws.send(message);
    if (!state.closed && ws.getBufferedAmount() > ctx.config.WS_MAX_BUFFERED_BYTES) closeSlowReader(ws, state);
  }

  function closeSlowReader(ws: WebSocket<StreamState>, state: StreamState): void {
    if (state.closed) return;
    state.closed = true;
    ctx.metrics.wsClosed.inc({ reason: 'slow_reader' });
    ws.end(WS_CLOSE.SLOW_READER, 'reader too slow: acknowledgements are not being read');
  }

  function wsHandle(ws: WebSocket<StreamState>, state: StreamState, body: Buffer): void {
    const started = performance.now();
    const route = '/v1/stream';
    const limits = ctx.access.limitsOf(state.key);
    const wait = ctx.access.limiter.admit(state.key.id, limits);
    if (wait > 0) {
      observe(ctx, route, 429, started, 'RATE_LIMITED');
      return wsSend(ws, state, nack(seqOf(body), { code: 'RATE_LIMITED', message: 'over this key\'s rate limit', retry_after: Number(retryAfterSeconds(wait)) }));
    }
    state.unacked++;
    // A WebSocket message has no headers: it starts a trace by the sampling ratio only.
    let requestTrace: RequestTrace | undefined;
    if (ctx.tracing !== undefined && ctx.tracing.decide('') === TraceDecision.SAMPLE) {
      requestTrace = startRequestTrace(
        ctx.tracing,
        '',
        { route, method: 'WS', host: ctx.config.GATEWAY_HOST, port: ctx.boundPort(), clientAddress: '', userAgent: '', bodyBytes: body.length },
        started,
      );
    }
    const queued = ctx.batcher.submit({
      body,
      tenant: state.key.tenant,
      receivedAtMs: Date.now(),
      kind: KIND_CODE.ws,
      encoding: 0,
      traceparent: requestTrace?.traceparent,
      reply: (reply) => {
        state.unacked--;
        ctx.access.limiter.chargeEvents(state.key.id, limits, reply.accepted);
        if (reply.accepted > 0) ctx.metrics.eventsAccepted.inc(reply.accepted);
        observe(ctx, route, reply.status, started, reply.code);
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
      observe(ctx, route, 503, started, 'OVERLOADED');
      wsSend(ws, state, nack(seqOf(body), { code: 'OVERLOADED', message: 'too many requests in flight; retry later' }));
    }
  }

  /** Processes held messages while the reader keeps up. */
  function releaseHeld(ws: WebSocket<StreamState>, state: StreamState): void {
    while (!state.closed && state.held.length > 0 && ws.getBufferedAmount() <= ctx.config.WS_MAX_BUFFERED_BYTES / 4) {
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
      const behind = state.held.length > 0 || ws.getBufferedAmount() > ctx.config.WS_MAX_BUFFERED_BYTES / 4;
      if (!behind) state.throttledSince = 0;
      else if (state.throttledSince === 0) state.throttledSince = now;
      else if (now - state.throttledSince > ctx.config.WS_SLOW_READER_CLOSE_MS) closeSlowReader(ws, state);
      if (behind && !state.closed) throttled++;
      held += state.held.length;
    }
    ctx.metrics.wsThrottled.set(throttled);
    ctx.metrics.wsHeldMessages.set(held);
  }, 500);
  slowReaderSweep.unref();

  app.ws<StreamState>('/v1/stream', {
    // Messages up to 4x the limit are read and nacked (the connection stays); beyond that uWS drops
    // the connection without a close frame (clients see 1006).
    maxPayloadLength: ctx.config.WS_MAX_MESSAGE_BYTES * 4,
    idleTimeout: ctx.config.WS_IDLE_TIMEOUT_SEC,
    sendPingsAutomatically: true,
    // No uWS limit: past it uWS silently drops what we send, acks and close frame alike (a slow
    // reader would see its connection vanish without the 4008). Our own bound is checked after
    // every send, so what is buffered never exceeds WS_MAX_BUFFERED_BYTES plus one reply.
    maxBackpressure: 0,
    upgrade: (res, req, context) => {
      const started = performance.now();
      const key = ctx.access.authenticate(req.getHeader('authorization'), req.getHeader('x-api-key'), req.getQuery('api_key') ?? '');
      if (ctx.closing()) return sendError(ctx, res, '/v1/stream', started, 'OVERLOADED', 'the gateway is shutting down; retry');
      if (!key) return sendError(ctx, res, '/v1/stream', started, 'UNAUTHORIZED', 'a valid API key is required (Authorization header, X-API-Key or ?api_key=)');
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
      ctx.metrics.wsConnections.inc();
    },
    message: (ws, message) => {
      const state = ws.getUserData();
      if (state.closed) return;
      if (message.byteLength > ctx.config.WS_MAX_MESSAGE_BYTES) {
        ctx.metrics.rejected.inc({ code: 'WS_MESSAGE_TOO_LARGE' });
        const head = Buffer.from(message.slice(0, 256));
        return wsSend(ws, state, nack(seqOf(head), { code: 'WS_MESSAGE_TOO_LARGE', message: `a message may be at most ${ctx.config.WS_MAX_MESSAGE_BYTES} bytes` }));
      }
      const body = Buffer.copyBytesFrom(new Uint8Array(message));
      // A reader that falls behind is throttled: its messages wait until its buffer drains. One
      // that keeps sending while throttled, past the unacknowledged bound, is closed.
      if (ws.getBufferedAmount() > ctx.config.WS_MAX_BUFFERED_BYTES / 4 || state.held.length > 0) {
        if (state.held.length >= ctx.config.WS_MAX_UNACKED) return closeSlowReader(ws, state);
        if (state.held.length === 0) state.throttledSince = Date.now();
        state.held.push(body);
        return;
      }
      if (state.unacked >= ctx.config.WS_MAX_UNACKED) {
        ctx.metrics.rejected.inc({ code: 'WS_TOO_MANY_UNACKED' });
        return wsSend(ws, state, nack(seqOf(body), { code: 'WS_TOO_MANY_UNACKED', message: `more than ${ctx.config.WS_MAX_UNACKED} messages await their ack; wait for acks before sending more` }));
      }
      wsHandle(ws, state, body);
    },
    drain: (ws) => releaseHeld(ws, ws.getUserData()),
    close: (ws, code) => {
      const state = ws.getUserData();
      state.closed = true;
      state.held.length = 0;
      streams.delete(ws);
      ctx.metrics.wsConnections.dec();
    },
  });

  return {
    closeAll() {
      clearInterval(slowReaderSweep);
      for (const ws of streams) ws.end(WS_CLOSE.GOING_AWAY, 'server shutting down');
    },
  };
}
