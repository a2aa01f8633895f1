import { Piscina } from 'piscina';
import { errorBody, httpStatusOf, type FloodgateErrorCode } from '@floodgate/errors';
import type { Logger } from '@floodgate/logging';
import { INGEST_WORKER_FILE, type IngestReply, type IngestWorkerData } from '@floodgate/ingest-worker';
import { uws, type HttpResponse, type us_listen_socket } from './uws.ts';
import { Microbatcher } from './microbatcher.ts';
import type { GatewayConfig } from './config.ts';

const STATUS_LINE: Record<number, string> = {
  200: '200 OK',
  202: '202 Accepted',
  400: '400 Bad Request',
  404: '404 Not Found',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

const JSON_TYPES = new Set(['application/json', '']);

export interface Gateway {
  listen(): Promise<{ port: number }>;
  /** Stops accepting, answers what is in flight, then stops the workers. */
  close(): Promise<void>;
}

export function createGateway(config: GatewayConfig, logger: Logger): Gateway {
  const workerData: IngestWorkerData = {
    kafkaBrokers: config.KAFKA_BROKERS,
    topic: config.KAFKA_TOPIC,
    sendTimeoutMs: config.KAFKA_SEND_TIMEOUT_MS,
  };
  const pool = new Piscina({
    filename: INGEST_WORKER_FILE,
    minThreads: config.INGEST_THREADS,
    maxThreads: config.INGEST_THREADS,
    // Two tasks in flight per thread: one parsing while the other waits for Kafka.
    concurrentTasksPerWorker: 2,
    // A kafkajs producer lives in the thread: 'sync' atomics would park its event loop between tasks.
    atomics: 'disabled',
    workerData,
  });
  const batcher = new Microbatcher(
    pool,
    { maxRequests: config.MICROBATCH_MAX_REQUESTS, maxPending: config.MAX_PENDING_REQUESTS },
    (error) => logger.error({ err: error }, 'ingest task failed'),
  );
  let listenSocket: us_listen_socket | undefined;
  let closing = false;

  function send(res: HttpResponse, status: number, body: string, extraHeaders?: Record<string, string>): void {
    res.cork(() => {
      res.writeStatus(STATUS_LINE[status] ?? `${status}`);
      res.writeHeader('content-type', 'application/json');
      if (extraHeaders) for (const [k, v] of Object.entries(extraHeaders)) res.writeHeader(k, v);
      res.end(body);
    });
  }

  function sendError(res: HttpResponse, code: FloodgateErrorCode, message: string): void {
    const headers = httpStatusOf(code) === 503 ? { 'retry-after': '1' } : undefined;
    send(res, httpStatusOf(code), errorBody(code, message), headers);
  }

  const app = uws.App();

  app.post('/v1/events', (res, req) => {
    const receivedAtMs = Date.now();
    const contentType = (req.getHeader('content-type').split(';')[0] ?? '').trim().toLowerCase();
    const declaredLength = Number(req.getHeader('content-length') || '0');
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    if (closing) return sendError(res, 'OVERLOADED', 'the gateway is shutting down; retry');
    if (!JSON_TYPES.has(contentType)) {
      return sendError(res, 'UNSUPPORTED_MEDIA_TYPE', `content-type ${contentType} is not supported; send application/json`);
    }
    if (declaredLength > config.MAX_BODY_BYTES) {
      return sendError(res, 'BODY_TOO_LARGE', `the body exceeds ${config.MAX_BODY_BYTES} bytes`);
    }

    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    res.onData((chunk, isLast) => {
      if (tooLarge) return;
      size += chunk.byteLength;
      if (size > config.MAX_BODY_BYTES) {
        tooLarge = true;
        if (!aborted) sendError(res, 'BODY_TOO_LARGE', `the body exceeds ${config.MAX_BODY_BYTES} bytes`);
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
      if (!isLast) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      const accepted = batcher.submit({
        body,
        tenant: 'default',
        receivedAtMs,
        reply: (reply: IngestReply) => {
          if (aborted) return;
          send(res, reply.status, reply.body, reply.status === 503 ? { 'retry-after': '1' } : undefined);
        },
      });
      if (!accepted && !aborted) sendError(res, 'OVERLOADED', 'too many requests in flight; retry later');
    });
  });

  app.get('/healthz', (res) => send(res, 200, '{"status":"ok"}'));
  app.any('/*', (res, req) => {
    res.onAborted(() => {});
    sendError(res, 'NOT_FOUND', `no route ${req.getMethod().toUpperCase()} ${req.getUrl()}`);
  });

  return {
    listen() {
      return new Promise((resolve, reject) => {
        app.listen(config.GATEWAY_HOST, config.GATEWAY_PORT, (socket) => {
          if (!socket) {
            reject(new Error(`cannot listen on ${config.GATEWAY_HOST}:${config.GATEWAY_PORT}`));
            return;
          }
          listenSocket = socket;
          resolve({ port: uws.us_socket_local_port(socket) });
        });
      });
    },
    async close() {
      closing = true;
      if (listenSocket) uws.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
      const deadline = Date.now() + config.SHUTDOWN_TIMEOUT_MS;
      while (batcher.pendingRequests > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      if (batcher.pendingRequests > 0) logger.warn({ pending: batcher.pendingRequests }, 'shutdown timeout with requests in flight');
      await pool.destroy();

    },
  };
}
