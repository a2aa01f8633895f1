/**
 * The server span of a sampled request (HTTP or WebSocket message). Only sampled requests get one:
 * for the others the gateway reads one header and draws one random number (Tracing.decide).
 */
import { SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { formatTraceparent } from '@floodgate/telemetry';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_CODE,
  ATTR_ERROR_TYPE,
  ATTR_EVENT_COUNT,
  ATTR_EVENT_IDS,
  ATTR_HOP,
  ATTR_HTTP_REQUEST_BODY_SIZE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_TENANT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
  HOPS,
  MAX_EVENT_IDS_ON_SPAN,
} from '@floodgate/telemetry/attributes';
import type { Tracing } from '@floodgate/telemetry/sdk';

export interface RequestTrace {
  span: Span;
  /** The span's context, passed to the ingest worker with the request. */
  traceparent: string;
}

export interface RequestInfo {
  route: string;
  /** `POST`, or `WS` for a WebSocket message. */
  method: string;
  host: string;
  port: number;
  clientAddress: string;
  userAgent: string;
  bodyBytes: number;
}

export function startRequestTrace(tracing: Tracing, clientTraceparent: string, info: RequestInfo, startTime: number): RequestTrace {
  const attributes: Attributes = {
    [ATTR_HOP]: HOPS.gatewayRequest,
    [ATTR_HTTP_ROUTE]: info.route,
    [ATTR_URL_PATH]: info.route,
    [ATTR_URL_SCHEME]: info.route === '/v1/stream' ? 'ws' : 'http',
    [ATTR_SERVER_ADDRESS]: info.host,
    [ATTR_SERVER_PORT]: info.port,
  };
  // A WebSocket message is no HTTP request: its span has no method (its upgrade was the GET).
  if (info.method !== 'WS') attributes[ATTR_HTTP_REQUEST_METHOD] = info.method;
  if (info.clientAddress) attributes[ATTR_CLIENT_ADDRESS] = info.clientAddress;
  if (info.userAgent) attributes[ATTR_USER_AGENT_ORIGINAL] = info.userAgent;
  if (info.bodyBytes > 0) attributes[ATTR_HTTP_REQUEST_BODY_SIZE] = info.bodyBytes;
  const span = tracing.startRequestSpan(`${info.method} ${info.route}`, clientTraceparent, attributes, startTime);
  return { span, traceparent: formatTraceparent(span.spanContext()) };
}

/** Ends the span with the answer: status, error code, and the accepted event ids (from the reply body). */
export function endRequestTrace(trace: RequestTrace, status: number, code: string | undefined, tenant: string | undefined, body?: string, bodyBytes?: number): void {
  const span = trace.span;
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  if (tenant) span.setAttribute(ATTR_TENANT, tenant);
  if (bodyBytes !== undefined && bodyBytes > 0) span.setAttribute(ATTR_HTTP_REQUEST_BODY_SIZE, bodyBytes);
  if (status < 300 && body) {
    try {
      const ids = (JSON.parse(body) as { ids?: unknown }).ids;
      if (Array.isArray(ids)) {
        span.setAttribute(ATTR_EVENT_COUNT, ids.length);
        span.setAttribute(ATTR_EVENT_IDS, ids.slice(0, MAX_EVENT_IDS_ON_SPAN).map(String));
      }
    } catch {
      // not our JSON; nothing to add
    }
  }
  if (code) span.setAttribute(ATTR_ERROR_CODE, code);
  // A server span is an error only when the server failed (5xx); 4xx are the client's.
  if (status >= 500) {
    span.setAttribute(ATTR_ERROR_TYPE, code ?? String(status));
    span.setStatus({ code: SpanStatusCode.ERROR, ...(code ? { message: code } : {}) });
  }
  span.end();
}

/** The request was aborted by the client before it was answered. */
export function abortRequestTrace(trace: RequestTrace): void {
  trace.span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
  trace.span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client went away before the answer' });
  trace.span.end();
}
