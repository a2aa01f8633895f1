import { createServer, type Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { errorBody } from '@floodgate/errors';

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean | number | string>;
}

export interface AdminServerOptions {
  host: string;
  port: number;
  /** FLOODGATE_ADMIN_TOKEN: required (Bearer) for everything but /healthz and /readyz when set. */
  adminToken?: string;
  readiness: () => Promise<Readiness>;
  metrics: () => Promise<{ contentType: string; body: string }>;
}

export interface AdminServer {
  listen(): Promise<{ port: number }>;
  close(): Promise<void>;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/** The admin port: liveness, readiness and Prometheus metrics, apart from the ingest port. */
export function createAdminServer(options: AdminServerOptions): AdminServer {
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    if (req.method !== 'GET') return json(405, errorBody('METHOD_NOT_ALLOWED', `${req.method} is not allowed`));
    if (url === '/healthz') return json(200, '{"status":"ok"}');
    if (url === '/readyz') {
      options.readiness().then(
        (r) => json(r.ready ? 200 : 503, JSON.stringify(r)),
        (error: unknown) => json(503, JSON.stringify({ ready: false, checks: { error: String(error) } })),
      );
      return;
    }
    if (options.adminToken && !tokenMatches(req.headers.authorization, options.adminToken)) {
      return json(401, errorBody('UNAUTHORIZED', 'the admin token is required (Authorization: Bearer <FLOODGATE_ADMIN_TOKEN>)'));
    }
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
