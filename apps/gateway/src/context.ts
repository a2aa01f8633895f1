/**
 * What the gateway's routes share: configuration, the micro-batcher, access control, metrics, and
 * the HTTP answer helpers (status lines, error bodies, request metrics). Built once by gateway.ts.
 */
import { errorBody, httpStatusOf, type FloodgateErrorCode } from '@floodgate/errors';
import type { Logger } from '@floodgate/logging';
import type { Tracing } from '@floodgate/telemetry/sdk';
import type { Access } from './access.ts';
import type { GatewayConfig } from './config.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { Microbatcher } from './microbatcher.ts';
import { retryAfterSeconds } from './rate-limit.ts';
import type { HttpResponse } from './uws.ts';

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

export interface GatewayContext {
  config: GatewayConfig;
  logger: Logger;
  tracing: Tracing | undefined;
  metrics: GatewayMetrics;
  batcher: Microbatcher;
  access: Access;
  /** Draining: new requests are answered 503, keep-alive connections closed after their answer. */
  closing(): boolean;
  boundPort(): number;
  /** HTTP requests read or being answered; shutdown waits for them. */
  inProgress: { count: number };
}

/** Writes one HTTP answer (inside cork); while draining, the keep-alive connection is closed after it. */
export function send(ctx: GatewayContext, res: HttpResponse, status: number, body: string, extraHeaders?: Record<string, string>): void {
  res.cork(() => {
    res.writeStatus(STATUS_LINE[status] ?? `${status}`);
    res.writeHeader('content-type', 'application/json');
    if (extraHeaders) for (const [k, v] of Object.entries(extraHeaders)) res.writeHeader(k, v);
    res.end(body, ctx.closing());
  });
}

/** Retry-After for a 503: the time the backlog needs at the measured drain rate. */
export function overloadRetryAfter(ctx: GatewayContext): Record<string, string> {
  return { 'retry-after': retryAfterSeconds(ctx.batcher.backlogSeconds()) };
}

export function observe(ctx: GatewayContext, route: string, status: number, started: number, code?: string): void {
  ctx.metrics.requests.inc({ route, status });
  ctx.metrics.requestDuration.observe({ route }, (performance.now() - started) / 1000);
  if (code) ctx.metrics.rejected.inc({ code });
}

/** An HTTP refusal at the edge (before any worker saw the request), with its metrics. */
export function sendError(ctx: GatewayContext, res: HttpResponse, route: string, started: number, code: FloodgateErrorCode, message: string, headers?: Record<string, string>): void {
  const status = httpStatusOf(code);
  // RFC 9110: a 401 names the scheme it wants.
  const challenge = status === 401 ? { 'www-authenticate': 'Bearer realm="floodgate"' } : undefined;
  send(ctx, res, status, errorBody(code, message), { ...challenge, ...(headers ?? (status === 503 ? overloadRetryAfter(ctx) : undefined)) });
  observe(ctx, route, status, started, code);
  // Refused at the edge, before parsing: its events are not counted; one request counts as one.
  ctx.metrics.events.received.inc({ component: 'gateway' });
  ctx.metrics.events.dropped.inc({ component: 'gateway', code });
}
