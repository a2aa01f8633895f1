import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { Registry } from 'prom-client';
import { isLoopbackHost } from '@floodgate/config';
import { FloodgateError } from '@floodgate/errors';
import type { Logger } from '@floodgate/logging';

export interface SinkAdminServer {
  /** The bound port (the real one when configured as 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** The /readyz body, the same shape as the gateway's: `{ "ready": true, "checks": { … } }`. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean | number | string>;
}

const errorBody = (code: string, message: string) => JSON.stringify({ error: { code, message } });

function bearerMatches(header: string | undefined, token: string): boolean {
  const a = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The sink's admin endpoint: `GET /metrics` (Prometheus text; with FLOODGATE_ADMIN_TOKEN set it
 * needs the token, as on the gateway's admin port, and the token must be set off loopback), `GET /healthz` (alive) and `GET /readyz` (200
 * once consuming, 503 before and while draining).
 */
export async function startAdminServer(options: {
  host: string;
  port: number;
  metrics: () => Promise<{ body: string; contentType: string }>;
  readiness: () => Readiness;
  adminToken?: string;
  logger: Logger;
}): Promise<SinkAdminServer> {
  // The config already refuses this (sinkSchema); checked again where the socket is opened.
  if (!options.adminToken && !isLoopbackHost(options.host)) {
    throw new FloodgateError('CONFIG_INVALID', `FLOODGATE_ADMIN_TOKEN: required to serve the sink's admin port on ${options.host}, which is not a loopback address`);
  }
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' }).end(errorBody('METHOD_NOT_ALLOWED', `${req.method} is not allowed`));
      return;
    }
    if (path === '/metrics' && options.adminToken && !bearerMatches(req.headers.authorization, options.adminToken)) {
      res
        .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="floodgate-admin"' })
        .end(errorBody('UNAUTHORIZED', 'the admin token is required (Authorization: Bearer <FLOODGATE_ADMIN_TOKEN>)'));
      return;
    }
    if (path === '/metrics') {
      options.metrics().then(
        ({ body, contentType }) => res.writeHead(200, { 'content-type': contentType }).end(body),
        (error: unknown) => {
          options.logger.warn({ err: error }, 'cannot collect metrics');
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot collect metrics: ${(error as Error).message}\n`);
        },
      );
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      const readiness = options.readiness();
      res.writeHead(readiness.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(readiness));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Same as startAdminServer for a registry. */
export function registryMetrics(registry: Registry): () => Promise<{ body: string; contentType: string }> {
  return async () => ({ body: await registry.metrics(), contentType: registry.contentType });
}
