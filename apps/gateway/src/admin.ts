import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { isLoopbackHost } from '@floodgate/config';
import { errorBody, FloodgateError } from '@floodgate/errors';
import { parseDuration, type Journey, type JourneySummary } from '@floodgate/telemetry';
import { TRACES_PAGE, tokenPage } from './traces-ui.ts';

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean | number | string>;
}

export interface AdminServerOptions {
  host: string;
  port: number;
  /**
   * FLOODGATE_ADMIN_TOKEN: required (Bearer) for everything but /healthz and /readyz when set. It
   * must be set for a host that is not loopback: listen() refuses otherwise.
   */
  adminToken?: string;
  readiness: () => Promise<Readiness>;
  metrics: () => Promise<{ contentType: string; body: string }>;
  /** The span store, for the /ui/traces page and its JSON API; unset: those routes answer 404. */
  traces?: TraceQueries;
}

/** What the traces page needs from the span store (TraceStore of @floodgate/telemetry). */
export interface TraceQueries {
  journey(id: string): Promise<Journey | undefined>;
  list(options: { sinceSeconds: number; limit: number; order: 'slowest' | 'recent' }): Promise<JourneySummary[]>;
}

/** Cookie that carries the admin token for the browser page (set from `?token=`). */
export const ADMIN_COOKIE = 'floodgate_admin_token';

export interface AdminServer {
  listen(): Promise<{ port: number }>;
  close(): Promise<void>;
}

function sameToken(presented: string, token: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  return sameToken(header?.startsWith('Bearer ') ? header.slice(7) : '', token);
}

function cookieValue(header: string | undefined, name: string): string {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return '';
      }
    }
  }
  return '';
}

/**
 * Admin token check. Scripts send `Authorization: Bearer <token>`; a browser on the /ui pages may
 * instead present it once as `?token=` (answered with a cookie and a redirect that drops it from
 * the address bar), then by that cookie.
 */
function authorised(req: IncomingMessage, token: string, url: URL): 'bearer' | 'cookie' | 'query' | undefined {
  if (tokenMatches(req.headers.authorization, token)) return 'bearer';
  if (!url.pathname.startsWith('/ui')) return undefined;
  if (sameToken(cookieValue(req.headers.cookie, ADMIN_COOKIE), token)) return 'cookie';
  const query = url.searchParams.get('token');
  if (query !== null && sameToken(query, token)) return 'query';
  return undefined;
}

/** The admin port: liveness, readiness and Prometheus metrics, apart from the ingest port. */
export function createAdminServer(options: AdminServerOptions): AdminServer {
  const server: Server = createServer((req, res) => {
    const parsed = new URL(req.url ?? '/', 'http://admin.invalid');
    const url = parsed.pathname;
    const json = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    if (req.method !== 'GET') {
      res.writeHead(405, { 'content-type': 'application/json', allow: 'GET' });
      res.end(errorBody('METHOD_NOT_ALLOWED', `${req.method} is not allowed`));
      return;
    }
    if (url === '/healthz') return json(200, '{"status":"ok"}');
    if (url === '/readyz') {
      options.readiness().then(
        (r) => json(r.ready ? 200 : 503, JSON.stringify(r)),
        (error: unknown) => json(503, JSON.stringify({ ready: false, checks: { error: String(error) } })),
      );
      return;
    }
    const via = options.adminToken ? authorised(req, options.adminToken, parsed) : 'bearer';
    if (!via) {
      if (url === '/ui' || url === '/ui/traces') return html(res, 401, tokenPage(parsed.searchParams.has('token')));
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="floodgate-admin"' });
      res.end(errorBody('UNAUTHORIZED', 'the admin token is required (Authorization: Bearer <FLOODGATE_ADMIN_TOKEN>)'));
      return;
    }
    if (via === 'query') {
      // Keep the token out of the address bar and history: a cookie for /ui, then the page again.
      parsed.searchParams.delete('token');
      res.writeHead(303, {
        'set-cookie': `${ADMIN_COOKIE}=${encodeURIComponent(options.adminToken!)}; Path=/ui; HttpOnly; SameSite=Strict`,
        location: `${url}${parsed.search}`,
        'cache-control': 'no-store',
      });
      res.end();
      return;
    }
    if (url.startsWith('/ui')) return serveTracesUi(req, res, url, parsed.searchParams, options.traces);
    if (url === '/metrics') {
      options.metrics().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'content-type': contentType });
          res.end(body);
        },
        (error: unknown) => json(500, errorBody('INTERNAL', `metrics unavailable: ${String(error)}`)),
      );
      return;
    }
    json(404, errorBody('NOT_FOUND', `no route GET ${url}`));
  });
  return {
    listen: () =>
      new Promise((resolve, reject) => {
        // The config already refuses this; checked again where the socket is opened, so no other
        // caller can open /metrics and the admin UI to the network by leaving the token out.
        if (!options.adminToken && !isLoopbackHost(options.host)) {
          reject(new FloodgateError('CONFIG_INVALID', `FLOODGATE_ADMIN_TOKEN: required to serve the admin port on ${options.host}, which is not a loopback address`));
          return;
        }
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          const address = server.address();
          resolve({ port: typeof address === 'object' && address ? address.port : options.port });
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // Everything is inline and same-origin: nothing is fetched from anywhere else.
    'content-security-policy': "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self' data:",
  });
  res.end(body);
}

/** GET /ui/traces (the page), /ui/api/traces (lists) and /ui/api/trace/<id> (one journey). */
function serveTracesUi(req: IncomingMessage, res: ServerResponse, url: string, query: URLSearchParams, traces: TraceQueries | undefined): void {
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  if (url === '/ui' || url === '/ui/') {
    res.writeHead(302, { location: '/ui/traces' });
    res.end();
    return;
  }
  if (!traces) return json(404, JSON.parse(errorBody('NOT_FOUND', 'tracing is not configured on this gateway')));
  if (url === '/ui/traces') return html(res, 200, TRACES_PAGE);
  const failed = (error: unknown) => json(503, JSON.parse(errorBody('CLICKHOUSE_UNAVAILABLE', `the span store cannot be read: ${(error as Error).message}`)));
  if (url === '/ui/api/traces') {
    const sinceSeconds = parseDuration(query.get('since') ?? '1h');
    const limit = Number(query.get('limit') ?? '20');
    const order = query.get('order') === 'recent' ? 'recent' : 'slowest';
    if (sinceSeconds === undefined || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
      return json(400, JSON.parse(errorBody('EVENT_INVALID', 'since must be a duration like 10m and limit 1..1000')));
    }
    traces.list({ sinceSeconds, limit, order }).then((list) => json(200, { order, since: query.get('since') ?? '1h', journeys: list }), failed);
    return;
  }
  if (url.startsWith('/ui/api/trace/')) {
    const id = decodeURIComponent(url.slice('/ui/api/trace/'.length));
    if (!id || id.length > 200) return json(400, JSON.parse(errorBody('EVENT_INVALID', 'an event id or trace id is required')));
    traces.journey(id).then(
      (journey) => (journey ? json(200, journey) : json(404, JSON.parse(errorBody('NOT_FOUND', `no trace found for ${id} (not sampled, not yet exported, or expired)`)))),
      failed,
    );
    return;
  }
  void req;
  json(404, JSON.parse(errorBody('NOT_FOUND', `no route GET ${url}`)));
}
