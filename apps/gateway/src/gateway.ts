/**
 * The gateway process: its ingest threads (ingest-pool.ts), access control (access.ts), the
 * micro-batcher, the HTTP routes (http-route.ts), the WebSocket stream (websocket.ts), and the
 * drain on close. The reply protocol lives in @floodgate/ingest-worker (reply.ts).
 */
import type { Piscina } from 'piscina';
import { FloodgateError } from '@floodgate/errors';
import type { Logger } from '@floodgate/logging';
import type { IngestCounts } from '@floodgate/ingest-worker';
import { flushWorkerTelemetry } from '@floodgate/telemetry';
import type { Tracing } from '@floodgate/telemetry/sdk';
import { uws, type us_listen_socket } from './uws.ts';
import { Microbatcher } from './microbatcher.ts';
import { createAccess } from './access.ts';
import { createGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import { createIngestPool } from './ingest-pool.ts';
import type { GatewayContext } from './context.ts';
import { registerFallbackRoutes, registerHttpRoutes } from './http-route.ts';
import { registerStreamRoute } from './websocket.ts';
import type { GatewayConfig } from './config.ts';

export { WS_CLOSE } from './websocket.ts';

/** How long a draining gateway keeps answering requests that arrive on already open connections. */
const DRAIN_GRACE_MS = 500;

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

export interface GatewayOptions {
  /**
   * The ingest threads; default: a pool of INGEST_THREADS running the ingest worker. Tests pass
   * their own to reach its threads (a thread that dies with requests in flight).
   */
  pool?: Piscina;
}

/**
 * `tracing`: this process's OpenTelemetry set-up (docs/tracing.md); without it nothing is traced and
 * no trace context is passed on.
 */
export function createGateway(config: GatewayConfig, logger: Logger, tracing?: Tracing, options: GatewayOptions = {}): Gateway {
  const flushChannel = `floodgate-telemetry-${process.pid}`;
  const pool = options.pool ?? createIngestPool(config, tracing, flushChannel);
  const metrics = createGatewayMetrics();
  const batcher = new Microbatcher(pool, {
    maxRequests: config.MICROBATCH_MAX_REQUESTS,
    maxWaitMs: config.MICROBATCH_MAX_WAIT_MS,
    maxPending: config.MAX_PENDING_REQUESTS,
    onTaskDone: (result) => {
      if (result.kafkaMs !== undefined) metrics.kafkaProduceDuration.observe(result.kafkaMs / 1000);
      countIngest(metrics, result.counts);
    },
    onTaskError: (error) => logger.error({ err: error }, 'ingest task failed'),
    // Replies are guarded against connections that went away; one that still throws is a bug,
    // reported here while the rest of its micro-batch is answered.
    onCallbackError: (error) => logger.error({ err: error }, 'answering a request failed'),
  });
  pool.on('error', (error: unknown) => logger.error({ err: error }, 'ingest worker thread died'));

  let listenSocket: us_listen_socket | undefined;
  let boundPort = config.GATEWAY_PORT;
  let closing = false;
  const ctx: GatewayContext = {
    config,
    logger,
    tracing,
    metrics,
    batcher,
    access: createAccess(config, logger),
    closing: () => closing,
    boundPort: () => boundPort,
    inProgress: { count: 0 },
  };

  const app = uws.App();
  registerHttpRoutes(app, ctx);
  const streams = registerStreamRoute(app, ctx);
  registerFallbackRoutes(app, ctx);

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
      while ((ctx.inProgress.count > 0 || batcher.pendingRequests > 0 || Date.now() < graceUntil) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      if (ctx.inProgress.count > 0 || batcher.pendingRequests > 0) {
        logger.warn({ inProgress: ctx.inProgress.count, pending: batcher.pendingRequests }, 'shutdown timeout with requests in flight');
      }
      streams.closeAll();
      // piscina terminates its threads: have them export the spans they hold first.
      if (tracing?.recording) await flushWorkerTelemetry(flushChannel, pool.threads.length, 2000);
      await pool.destroy();
    },
  };
}

/** The ingest threads' counts of one micro-batch (the gateway received what they parsed, sent what Kafka acknowledged). */
function countIngest(metrics: GatewayMetrics, counts: IngestCounts | undefined): void {
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
