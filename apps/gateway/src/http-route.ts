/** The HTTP routes: POST /v1/events (read, refuse at the edge or hand to the micro-batcher, answer), /healthz, and 404/405. */
import type { FloodgateErrorCode } from '@floodgate/errors';
import { httpStatusOf } from '@floodgate/errors';
import { FORMAT_OF_CONTENT_TYPE } from '@floodgate/event-model';
import { CONTENT_ENCODINGS, KIND_CODE, type ContentEncoding, type IngestReply } from '@floodgate/ingest-worker';
import { TraceDecision } from '@floodgate/telemetry';
import { abortRequestTrace, endRequestTrace, startRequestTrace, type RequestTrace } from './request-trace.ts';
import { retryAfterSeconds } from './rate-limit.ts';
import { observe, overloadRetryAfter, send, sendError, type GatewayContext } from './context.ts';
import type { TemplatedApp } from './uws.ts';

export function registerHttpRoutes(app: TemplatedApp, ctx: GatewayContext): void {
  app.post('/v1/events', (res, req) => {
    const started = performance.now();
    const receivedAtMs = Date.now();
    const route = '/v1/events';
    let aborted = false;
    const contentType = (req.getHeader('content-type').split(';')[0] ?? '').trim().toLowerCase() || 'application/json';
    const contentEncoding = req.getHeader('content-encoding').trim().toLowerCase() || 'identity';
    const declaredLength = Number(req.getHeader('content-length') || '0');
    const key = ctx.access.authenticate(req.getHeader('authorization'), req.getHeader('x-api-key'), '');

    if (ctx.closing()) return sendError(ctx, res, route, started, 'OVERLOADED', 'the gateway is shutting down; retry');
    // Tracing: one header read and, without a client traceparent, one random draw; a span only
    // for a sampled request (docs/tracing.md).
    let requestTrace: RequestTrace | undefined;
    let traceparent: string | undefined;
    if (ctx.tracing !== undefined) {
      const clientTraceparent = req.getHeader('traceparent');
      const decision = ctx.tracing.decide(clientTraceparent);
      if (decision === TraceDecision.SAMPLE) {
        requestTrace = startRequestTrace(
          ctx.tracing,
          clientTraceparent,
          {
            route,
            method: 'POST',
            host: ctx.config.GATEWAY_HOST,
            port: ctx.boundPort(),
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
    ctx.inProgress.count++;
    let done = false;
    /** Body bytes read so far. */
    let size = 0;
    const finish = () => {
      if (!done) {
        done = true;
        ctx.inProgress.count--;
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
      sendError(ctx, res, route, started, code, message, headers);
    };
    if (!key) return reject('UNAUTHORIZED', 'a valid API key is required (Authorization: Bearer <key> or X-API-Key)');
    const format = FORMAT_OF_CONTENT_TYPE[contentType];
    if (format === undefined) {
      return reject('UNSUPPORTED_MEDIA_TYPE', `content-type ${contentType} is not supported; use one of ${Object.keys(FORMAT_OF_CONTENT_TYPE).join(', ')}`);
    }
    const encoding = CONTENT_ENCODINGS.indexOf(contentEncoding as ContentEncoding);
    if (encoding < 0) return reject('UNSUPPORTED_ENCODING', `content-encoding ${contentEncoding} is not supported; use gzip, deflate or none`);
    if (declaredLength > ctx.config.MAX_BODY_BYTES) {
      return reject('BODY_TOO_LARGE', `the body exceeds ${ctx.config.MAX_BODY_BYTES} bytes`);
    }
    const limits = ctx.access.limitsOf(key);
    const wait = ctx.access.limiter.admit(key.id, limits);
    if (wait > 0) {
      return reject('RATE_LIMITED', 'over this key\'s rate limit; retry later', { 'retry-after': retryAfterSeconds(wait) });
    }

    const chunks: Buffer[] = [];
    let tooLarge = false;
    res.onData((chunk, isLast) => {
      if (tooLarge) return;
      size += chunk.byteLength;
      if (size > ctx.config.MAX_BODY_BYTES) {
        tooLarge = true;
        if (!aborted) reject('BODY_TOO_LARGE', `the body exceeds ${ctx.config.MAX_BODY_BYTES} bytes`);
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
      if (!isLast) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      const queued = ctx.batcher.submit({
        body,
        tenant: key.tenant,
        receivedAtMs,
        kind: KIND_CODE[format],
        encoding,
        traceparent,
        reply: (reply: IngestReply) => {
          ctx.access.limiter.chargeEvents(key.id, limits, reply.accepted);
          if (reply.accepted > 0) ctx.metrics.eventsAccepted.inc(reply.accepted);
          observe(ctx, route, reply.status, started, reply.code);
          finish();
          endTrace(reply.status, reply.code, reply.body);
          if (aborted) return;
          send(ctx, res, reply.status, reply.body, reply.status === 503 ? overloadRetryAfter(ctx) : undefined);
        },
      });
      if (!queued && !aborted) reject('OVERLOADED', 'too many requests in flight; retry later');
    });
  });

}

/** /healthz and the catch-all (405 on the API routes' other methods, else 404); registered last. */
export function registerFallbackRoutes(app: TemplatedApp, ctx: GatewayContext): void {
  app.get('/healthz', (res) => send(ctx, res, 200, '{"status":"ok"}'));
  app.any('/*', (res, req) => {
    res.onAborted(() => {});
    const started = performance.now();
    const method = req.getMethod().toUpperCase();
    const url = req.getUrl();
    if (url === '/v1/events' || url === '/v1/stream') {
      // RFC 9110: a 405 lists the methods the route takes.
      return sendError(ctx, res, url, started, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${url}`, { allow: url === '/v1/events' ? 'POST' : 'GET' });
    }
    sendError(ctx, res, 'other', started, 'NOT_FOUND', `no route ${method} ${url}`);
  });

}
