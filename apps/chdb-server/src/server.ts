import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { createLogger, type Logger } from '@floodgate/logging';
import { ChdbEngine, type EngineRequest, type RawInsertWork, type SqlWork } from './engine.ts';
import {
  ClickHouseException,
  buildSetStatement,
  chooseResponseEncoding,
  contentTypeFor,
  errorBody,
  isInsertQuery,
  isTruthy,
  multipartBoundary,
  outputFormatOf,
  parseMultipart,
  parseRequestParams,
  parseSimpleInsert,
  requestEncodingOf,
  settingValue,
  toClickHouseException,
  type ContentCoding,
} from './protocol.ts';
import { QueueClosedError, QueueFullError, SerialQueue } from './queue.ts';
import { FloodgateError } from '@floodgate/errors';

export interface ChdbServerOptions {
  host: string;
  /** 0 picks a free port; listen() returns the real one. */
  port: number;
  /** The chDB data folder. It must exist; one process at a time can own it. */
  dataDir: string;
  logger?: Logger;
  /** Queries waiting behind the running one before new ones get a 503 (default 256). */
  maxQueuedQueries?: number;
  /** Request-body bytes held by waiting queries before new ones get a 503 (default 512 MiB). */
  maxQueuedBytes?: number;
  /** Largest request body, compressed or not (default 256 MiB). */
  maxBodyBytes?: number;
  /** How long close() lets queued queries finish before refusing the rest (default 10 s). */
  shutdownTimeoutMs?: number;
  /**
   * The one user this server knows, as ClickHouse's `users.xml` would define it. Every query must
   * authenticate as this user (basic auth, X-ClickHouse-User/Key headers or user/password URL
   * parameters). Default `default` with an empty password, which is ClickHouse's open default: a
   * request without credentials is that user. The local stack always sets a generated password.
   */
  credentials?: { user: string; password: string };
  /**
   * Server default of `max_execution_time` in seconds (0: unlimited); a request's own setting wins.
   * Default 60. A query that runs longer fails with TIMEOUT_EXCEEDED and frees the queue.
   */
  maxExecutionTimeS?: number;
}

export interface ChdbServer {
  listen(): Promise<{ port: number }>;
  /** Stops accepting, lets queued queries finish (up to shutdownTimeoutMs), closes chDB. Idempotent. */
  close(): Promise<void>;
}

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const brotliDecompress = promisify(zlib.brotliDecompress);
const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);
const brotliCompress = promisify(zlib.brotliCompress);

const DEFAULT_FORMAT = 'TabSeparated';
const KEEP_ALIVE_TIMEOUT_MS = 10_000; // ClickHouse's keep_alive_timeout default

export function createChdbServer(options: ChdbServerOptions): ChdbServer {
  const logger = options.logger ?? createLogger('chdb-server');
  const maxBodyBytes = options.maxBodyBytes ?? 256 * 1024 * 1024;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  const engine = new ChdbEngine(path.resolve(options.dataDir));
  const queue = new SerialQueue({
    maxQueued: options.maxQueuedQueries ?? 256,
    maxQueuedBytes: options.maxQueuedBytes ?? 512 * 1024 * 1024,
  });
  const displayName = os.hostname();
  const credentials = options.credentials ?? { user: 'default', password: '' };
  const expectedUser = digest(credentials.user);
  const expectedPassword = digest(credentials.password);
  const maxExecutionTimeS = options.maxExecutionTimeS ?? 60;
  /** Origins this server would accept; set by listen() from the bound address. */
  let ownOrigins = new Set<string>();
  let closing = false;
  let listening = false;
  let closePromise: Promise<void> | undefined;

  const server = http.createServer(
    {
      // ClickHouse accepts URLs up to 1 MiB (http_max_uri_size); exec() puts the whole query there.
      maxHeaderSize: 1024 * 1024,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        logger.error({ err: error }, 'chdb-server request handler failed');
        if (!res.headersSent) sendError(res, toClickHouseException(error), undefined);
        else res.destroy();
      });
    },
  );
  server.on('clientError', (error, socket) => {
    logger.debug({ err: error }, 'malformed HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  function sendText(res: http.ServerResponse, status: number, text: string): void {
    if (closing) res.shouldKeepAlive = false;
    const body = Buffer.from(text);
    res.writeHead(status, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': body.length });
    res.end(body);
  }

  function sendError(res: http.ServerResponse, error: ClickHouseException, queryId: string | undefined, keepAlive = true): void {
    if (closing || !keepAlive) res.shouldKeepAlive = false;
    const body = Buffer.from(errorBody(error.message, engine.version));
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': 'text/plain; charset=UTF-8',
      'Content-Length': body.length,
      'X-ClickHouse-Exception-Code': String(error.code),
      'X-ClickHouse-Server-Display-Name': displayName,
    };
    if (queryId !== undefined) headers['X-ClickHouse-Query-Id'] = queryId;
    res.writeHead(error.status, headers);
    res.end(body);
  }

  /**
   * A browser sends `Origin` on cross-origin POSTs and CORS reads, and `Sec-Fetch-Site` on every
   * request; a page on another site must not drive this server (it serves no web pages, so no
   * origin but its own address is legitimate). Non-browser clients send neither.
   */
  function crossSiteRefusal(req: http.IncomingMessage): ClickHouseException | undefined {
    const origin = headerOf(req, 'origin');
    if (origin !== undefined && !ownOrigins.has(origin.toLowerCase())) {
      return ClickHouseException.of('ACCESS_DENIED', `Cross-origin request refused: Origin ${JSON.stringify(origin)} is not this server's own origin`);
    }
    const site = headerOf(req, 'sec-fetch-site')?.toLowerCase();
    if (site === 'cross-site' || site === 'same-site') {
      return ClickHouseException.of('ACCESS_DENIED', `Cross-site request refused (Sec-Fetch-Site: ${site})`);
    }
    return undefined;
  }

  /**
   * ClickHouse's HTTP authentication: X-ClickHouse-User/X-ClickHouse-Key headers, else HTTP basic
   * auth, else `user`/`password` URL parameters; none of them means user `default` with no password.
   * Compared in constant time (digests of equal length), so timing tells nothing about the secret.
   */
  function authRefusal(req: http.IncomingMessage, url: URL): ClickHouseException | undefined {
    let user = headerOf(req, 'x-clickhouse-user');
    let password = headerOf(req, 'x-clickhouse-key');
    let given = user !== undefined || password !== undefined;
    const authorization = headerOf(req, 'authorization');
    if (!given && authorization !== undefined) {
      const basic = /^basic\s+(\S+)$/i.exec(authorization.trim());
      if (!basic) return ClickHouseException.of('AUTHENTICATION_FAILED', 'Unsupported Authorization scheme: use Basic, X-ClickHouse-User/X-ClickHouse-Key or user/password parameters');
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      user = colon < 0 ? decoded : decoded.slice(0, colon);
      password = colon < 0 ? '' : decoded.slice(colon + 1);
      given = true;
    }
    if (!given && (url.searchParams.has('user') || url.searchParams.has('password'))) {
      user = url.searchParams.get('user') ?? undefined;
      password = url.searchParams.get('password') ?? undefined;
      given = true;
    }
    const name = user === undefined || user === '' ? 'default' : user;
    const userOk = timingSafeEqual(digest(name), expectedUser);
    const passwordOk = timingSafeEqual(digest(password ?? ''), expectedPassword);
    if (userOk && passwordOk) return undefined;
    if (!given) {
      return ClickHouseException.of('REQUIRED_PASSWORD', 'Authentication required: this server wants a user and password (basic auth, X-ClickHouse-User/X-ClickHouse-Key or user/password parameters)');
    }
    return ClickHouseException.of('AUTHENTICATION_FAILED', `${name}: Authentication failed: password is incorrect, or there is no user with such name`);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://chdb-server');
    const isRead = method === 'GET' || method === 'HEAD';

    // Before anything else, even /ping: nothing here is for a web page on another site.
    const crossSite = crossSiteRefusal(req);
    if (crossSite) {
      logger.warn({ origin: headerOf(req, 'origin'), sec_fetch_site: headerOf(req, 'sec-fetch-site') }, 'cross-site request refused');
      return sendError(res, crossSite, undefined, false);
    }

    if (isRead && !url.searchParams.has('query')) {
      if (url.pathname === '/' || url.pathname === '/ping' || url.pathname === '/replicas_status') return sendText(res, 200, 'Ok.\n');
      return sendText(res, 404, `There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\n`);
    }
    if (!isRead && method !== 'POST') {
      res.setHeader('Allow', 'GET, HEAD, POST');
      return sendText(res, 405, `Method ${method} is not supported\n`);
    }
    // /ping stays open (as in ClickHouse) for health checks; every query needs the credentials.
    const unauthenticated = authRefusal(req, url);
    if (unauthenticated) {
      logger.info({ code: unauthenticated.code, status: unauthenticated.status }, 'request refused: not authenticated');
      return sendError(res, unauthenticated, undefined, false);
    }

    let queryId = url.searchParams.get('query_id') || headerOf(req, 'x-clickhouse-query-id') || undefined;
    let clientGone = false;
    res.once('close', () => {
      if (!res.writableFinished) clientGone = true;
    });
    const received = performance.now();
    try {
      if (closing) throw ClickHouseException.of('ABORTED', 'chdb-server is shutting down', { status: 503 });
      const refusal = queue.wouldRefuse();
      if (refusal !== undefined) throw overloaded(refusal);

      const raw = await readBody(req, maxBodyBytes);
      const body = await decodeBody(raw, requestEncodingOf(headerOf(req, 'content-encoding')), maxBodyBytes);

      let entries: Array<[string, string]> = [...url.searchParams];
      let data = body;
      const boundary = multipartBoundary(headerOf(req, 'content-type'));
      if (boundary !== undefined) {
        // The client's use_multipart_params: `query` and `param_*` as form fields. Files would be
        // ClickHouse's external tables, which this server does not have.
        const fields = parseMultipart(body, boundary);
        const file = fields.find((f) => f.filename !== undefined);
        if (file) throw ClickHouseException.of('NOT_IMPLEMENTED', `External data (multipart file ${JSON.stringify(file.name)}) is not supported by chdb-server`);
        entries = entries.concat(fields.map((f): [string, string] => [f.name, f.value.toString('utf8')]));
        data = Buffer.alloc(0);
      }

      const params = parseRequestParams(entries, (name) => headerOf(req, name));
      queryId = params.queryId ?? randomUUID();
      if (params.nativeCompression) {
        throw ClickHouseException.of('NOT_IMPLEMENTED', "ClickHouse's native compression (compress=1 / decompress=1) is not supported by chdb-server; use Content-Encoding");
      }
      const queryText = params.query ?? '';
      const defaultFormat = params.defaultFormat ?? DEFAULT_FORMAT;
      const simpleInsert = !isRead && queryText !== '' && data.length > 0 ? parseSimpleInsert(queryText) : undefined;
      let work: SqlWork | RawInsertWork;
      let sqlForLog: string;
      if (simpleInsert) {
        work = { kind: 'insert', insert: simpleInsert, body: data };
        sqlForLog = queryText;
      } else {
        // ClickHouse reads the query parameter, a line break, then the body as one stream.
        const sql = queryText === '' ? data.toString('utf8') : data.length === 0 ? queryText : `${queryText}\n${data.toString('utf8')}`;
        if (sql.trim() === '') throw ClickHouseException.of('SYNTAX_ERROR', 'Empty query');
        const insert = isInsertQuery(sql);
        work = { kind: 'sql', sql, defaultFormat, emptyInsert: insert && data.length === 0 && queryText !== '' };
        sqlForLog = sql.length > 200 ? `${sql.slice(0, 200)}…` : sql;
      }
      // The server default of max_execution_time first; the request's own value, if any, wins.
      const settings: Array<[string, string]> =
        settingValue(params, 'max_execution_time') === undefined ? [['max_execution_time', String(maxExecutionTimeS)], ...params.settings] : params.settings;
      const request: EngineRequest = {
        database: params.database,
        readonly: isRead,
        setStatement: buildSetStatement(settings, params.queryParams),
        work,
      };

      let started = 0;
      const result = await queue
        .push(async () => {
          // Nobody is waiting for the answer any more (client timeout or abort): skip the work.
          if (clientGone) throw ClickHouseException.of('ABORTED', 'The client went away before the query started');
          started = performance.now();
          return engine.execute(request);
        }, data.length)
        .catch((error: unknown) => {
          if (error instanceof QueueFullError) throw overloaded(error.message);
          if (error instanceof QueueClosedError) throw ClickHouseException.of('ABORTED', 'chdb-server is shutting down', { status: 503 });
          throw error;
        });
      const finished = performance.now();
      if (clientGone) {
        logger.debug({ query_id: queryId, run_ms: round(finished - started) }, 'client went away before the answer');
        return;
      }

      const outputFormat = work.kind === 'insert' || isInsertQuery(work.sql) ? undefined : outputFormatOf(work.sql, defaultFormat);
      const coding = chooseResponseEncoding(headerOf(req, 'accept-encoding'), isTruthy(settingValue(params, 'enable_http_compression')));
      const payload = coding && result.body.length > 0 ? await encode(result.body, coding, settingValue(params, 'http_zlib_compression_level')) : result.body;
      if (closing) res.shouldKeepAlive = false;
      const headers: http.OutgoingHttpHeaders = {
        'Content-Type': outputFormat ? contentTypeFor(outputFormat) : 'text/plain; charset=UTF-8',
        'Content-Length': payload.length,
        'X-ClickHouse-Query-Id': queryId,
        'X-ClickHouse-Timezone': engine.timezone,
        'X-ClickHouse-Server-Display-Name': displayName,
        'X-ClickHouse-Summary': JSON.stringify(result.summary),
      };
      if (outputFormat) headers['X-ClickHouse-Format'] = outputFormat;
      if (coding && result.body.length > 0) headers['Content-Encoding'] = coding;
      res.writeHead(200, headers);
      res.end(payload);
      logger.debug(
        {
          query_id: queryId,
          kind: work.kind,
          query: sqlForLog,
          queue_ms: round(started - received),
          run_ms: round(finished - started),
          written_rows: Number(result.summary.written_rows),
          result_bytes: result.body.length,
        },
        'query done',
      );
    } catch (thrown) {
      if (clientGone || res.headersSent) {
        // Typically the client aborted mid-upload or timed out while queued; nobody reads an answer.
        logger.debug({ query_id: queryId, err: thrown }, 'request ended without an answer: the client went away');
        res.destroy();
        return;
      }
      const error = toClickHouseException(thrown);
      if (error.code === 1001) logger.error({ err: thrown, query_id: queryId }, 'query failed inside chdb-server');
      else logger.info({ query_id: queryId, code: error.code, status: error.status, error: error.message.slice(0, 500) }, 'query failed');
      // A body left unread (too large, refused early) would be drained; closing is cheaper.
      sendError(res, error, queryId, req.readableEnded);
    }
  }

  return {
    async listen() {
      if (closing) throw new FloodgateError('INTERNAL', 'chdb-server is closed');
      await engine.open();
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(options.port, options.host, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        engine.close();
        throw error;
      }
      listening = true;
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : options.port;
      ownOrigins = ownOriginsOf(options.host, port);
      logger.debug({ host: options.host, port, dataDir: engine.dataDir, version: engine.version }, 'chdb-server ready');
      return { port };
    },

    close() {
      closePromise ??= (async () => {
        closing = true;
        queue.close();
        const serverClosed = listening
          ? new Promise<void>((resolve) => server.close(() => resolve()))
          : Promise.resolve();
        server.closeIdleConnections();
        const drained = await Promise.race([queue.onIdle().then(() => true), delay(shutdownTimeoutMs).then(() => false)]);
        if (!drained) {
          const dropped = queue.rejectWaiting(ClickHouseException.of('ABORTED', 'chdb-server is shutting down', { status: 503 }));
          logger.warn({ dropped, timeout_ms: shutdownTimeoutMs }, 'queued queries refused at shutdown');
          await queue.onIdle(); // the running query finishes, at the latest at its max_execution_time
        }
        // Answers still being written go out with Connection: close; then the sockets end.
        server.closeIdleConnections();
        await Promise.race([serverClosed, delay(2_000)]);
        server.closeAllConnections();
        await serverClosed;
        engine.close();
        logger.debug('chdb-server closed');
      })();
      return closePromise;
    },
  };
}

function overloaded(reason: string): ClickHouseException {
  return ClickHouseException.of('TOO_MANY_SIMULTANEOUS_QUERIES', `Too many simultaneous queries: chdb-server is overloaded (${reason}); retry later`, { status: 503 });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The origins a browser would send for a page served from this server's own address. */
function ownOriginsOf(host: string, port: number): Set<string> {
  const hosts = new Set([host.includes(':') ? `[${host}]` : host]);
  if (host === '127.0.0.1' || host === '::1' || host === 'localhost') for (const h of ['127.0.0.1', 'localhost', '[::1]']) hosts.add(h);
  return new Set([...hosts].map((h) => `http://${h}:${port}`.toLowerCase()));
}

function headerOf(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  if (chunks.length === 1) return chunks[0]!;
  return Buffer.concat(chunks, size);
}

async function decodeBody(body: Buffer, coding: ReturnType<typeof requestEncodingOf>, limit: number): Promise<Buffer> {
  if (coding === 'identity' || body.length === 0) return body;
  try {
    // zlib runs on the libuv pool; maxOutputLength stops a decompression bomb.
    if (coding === 'gzip') return await gunzip(body, { maxOutputLength: limit });
    if (coding === 'deflate') return await inflate(body, { maxOutputLength: limit });
    return await brotliDecompress(body, { maxOutputLength: limit });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit);
    throw ClickHouseException.of('CANNOT_DECOMPRESS', `Cannot decompress the ${coding} request body: ${(error as Error).message}`, { cause: error });
  }
}

async function encode(body: Buffer, coding: ContentCoding, levelSetting: string | undefined): Promise<Buffer> {
  const parsed = Number(levelSetting);
  const level = Number.isInteger(parsed) && parsed >= 1 && parsed <= 9 ? parsed : 3; // http_zlib_compression_level
  if (coding === 'gzip') return gzip(body, { level });
  if (coding === 'deflate') return deflate(body, { level });
  return brotliCompress(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } });
}

function tooLarge(limit: number): ClickHouseException {
  return ClickHouseException.of('QUERY_IS_TOO_LARGE', `Request body is larger than chdb-server's limit of ${limit} bytes`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
