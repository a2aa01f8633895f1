/**
 * The gateway deployable. The primary process applies the topic migration, serves the admin port
 * (health, readiness, metrics aggregated over all processes) and keeps GATEWAY_PROCESSES gateway
 * processes alive; each of those listens on the ingest port itself (uWS sets SO_REUSEPORT, so the
 * kernel spreads connections) with its own pool of ingest threads.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import type { ClickHouseClient } from '@clickhouse/client';
import { clickhouseUrl, loadConfig, topicReplication } from '@floodgate/config';
import { createClickHouse } from '@floodgate/clickhouse';
import { createLogger } from '@floodgate/logging';
import { onShutdown, untilReady } from '@floodgate/lifecycle';
import { createKafka, ensureTopics, pipelineTopics } from '@floodgate/kafka';
import { TraceStore } from '@floodgate/telemetry';
import { setupTracing, telemetrySettings } from '@floodgate/telemetry/sdk';
import { gatewaySchema, type GatewayConfig } from './config.ts';
import { createGateway } from './gateway.ts';
import { createAdminServer } from './admin.ts';
import { newCanaryKey, startCanary } from './canary.ts';

type ProcessReport =
  | { kind: 'listening'; port: number }
  | { kind: 'state'; ready: boolean; pendingRequests: number };

const STATE_INTERVAL_MS = 1000;

async function runGatewayProcess(config: GatewayConfig): Promise<void> {
  const logger = createLogger('gateway').child({ worker: cluster.worker?.id });
  // No client may take a process down, so reaching these is a bug: say what it was in the log
  // (Node would only print it to stderr) before the process exits and the primary restarts it.
  // Carrying on is not an option: the state of whatever threw is unknown.
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception; the gateway process exits');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled rejection; the gateway process exits');
    process.exit(1);
  });
  const tracing = setupTracing({
    defaultServiceName: 'floodgate-gateway',
    spanStore: { url: clickhouseUrl(config), username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, database: config.CLICKHOUSE_DATABASE },
    logger,
  });
  const gateway = createGateway(config, logger, tracing);
  // Constructing one installs prom-client's IPC listener that answers the primary's scrapes.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([gateway.metrics.registry]);
  const { port } = await gateway.listen();
  logger.info({ port }, 'gateway process listening');
  process.send?.({ kind: 'listening', port } satisfies ProcessReport);
  const timer = setInterval(() => process.send?.({ kind: 'state', ...gateway.state() } satisfies ProcessReport), STATE_INTERVAL_MS);
  onShutdown(logger, async () => {
    clearInterval(timer);
    await gateway.close();
    await tracing.shutdown();
  });
}

async function runPrimary(config: GatewayConfig): Promise<void> {
  const logger = createLogger('gateway').child({ role: 'primary' });
  // A bad OTEL_* value stops the gateway here, once, rather than crash-looping its processes.
  const telemetry = telemetrySettings();
  if (telemetry.exporters.length > 0 && !telemetry.disabled) {
    logger.info({ sampler: telemetry.sampler, ratio: telemetry.ratio, exporters: telemetry.exporters }, 'tracing on');
  }
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'floodgate-gateway', logger });
  await untilReady('kafka topics', logger, () => ensureTopics(kafka, pipelineTopics(config), topicReplication(config)));

  // Kafka reachability for /readyz: one metadata probe per host, not one per process.
  const kafkaAdmin = kafka.admin();
  let kafkaOkAt = 0;
  const probeKafka = async () => {
    try {
      await kafkaAdmin.connect();
      await kafkaAdmin.fetchTopicMetadata({ topics: [config.KAFKA_TOPIC] });
      kafkaOkAt = Date.now();
    } catch (error) {
      logger.warn({ err: error }, 'kafka readiness probe failed');
    }
  };
  await probeKafka();
  const probeTimer = setInterval(() => void probeKafka(), 2000);

  const states = new Map<number, { ready: boolean; pendingRequests: number; at: number }>();
  let shuttingDown = false;
  let ingestPort: number | undefined;
  const restarts: number[] = [];
  // The primary's own metrics, served next to the processes' aggregated ones.
  const primaryRegistry = new Registry();
  const processRestarts = new Counter({
    name: 'floodgate_gateway_process_restarts_total',
    help: 'Gateway processes that exited unexpectedly and were restarted by the primary',
    registers: [primaryRegistry],
  });

  const canaryKey = config.GATEWAY_CANARY_INTERVAL_MS > 0 ? newCanaryKey() : undefined;
  const fork = (): Worker => {
    const worker = cluster.fork(canaryKey ? { FLOODGATE_CANARY_KEY: canaryKey } : {});
    worker.on('message', (report: ProcessReport) => {
      if (report.kind === 'listening') {
        if (ingestPort === undefined) ingestPort = report.port;
        states.set(worker.id, { ready: true, pendingRequests: 0, at: Date.now() });
        if (states.size === config.GATEWAY_PROCESSES && !listeningLogged) {
          listeningLogged = true;
          logger.info({ host: config.GATEWAY_HOST, port: ingestPort, processes: config.GATEWAY_PROCESSES, adminPort }, 'gateway listening');
        }
      } else if (report.kind === 'state') {
        states.set(worker.id, { ready: report.ready, pendingRequests: report.pendingRequests, at: Date.now() });
      }
    });
    return worker;
  };
  let listeningLogged = false;

  cluster.on('exit', (worker, code, signal) => {
    states.delete(worker.id);
    if (shuttingDown) return;
    // A crashing process is restarted; a crash loop backs off (up to 30 s) instead of spinning.
    processRestarts.inc();
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift();
    const delay = Math.min(30_000, 250 * 2 ** Math.max(0, restarts.length - 1));
    logger.error({ worker: worker.id, code, signal, restartInMs: delay }, 'gateway process exited; restarting');
    setTimeout(() => {
      if (!shuttingDown) fork();
    }, delay);
  });

  const aggregator = new AggregatorRegistry();
  const adminServer = createAdminServer({
    host: config.ADMIN_HOST,
    port: config.ADMIN_PORT,
    adminToken: config.FLOODGATE_ADMIN_TOKEN,
    readiness: async () => {
      const now = Date.now();
      const live = [...states.values()].filter((s) => now - s.at < 3 * STATE_INTERVAL_MS);
      const processesReady = live.filter((s) => s.ready).length;
      const kafkaReachable = now - kafkaOkAt < 6000;
      return {
        ready: !shuttingDown && kafkaReachable && processesReady === config.GATEWAY_PROCESSES,
        checks: {
          kafka_reachable: kafkaReachable,
          processes_ready: processesReady,
          processes_expected: config.GATEWAY_PROCESSES,
          draining: shuttingDown,
          pending_requests: live.reduce((n, s) => n + s.pendingRequests, 0),
        },
      };
    },
    metrics: async () => ({
      contentType: aggregator.contentType,
      body: `${await aggregator.clusterMetrics()}\n${await primaryRegistry.metrics()}`,
    }),
    traces: traceQueries(config),
  });
  const { port: adminPort } = await adminServer.listen();

  for (let i = 0; i < config.GATEWAY_PROCESSES; i++) fork();
  const canaryHost = ['0.0.0.0', '::', ''].includes(config.GATEWAY_HOST) ? '127.0.0.1' : config.GATEWAY_HOST;
  const canaryClient = canaryKey
    ? createClickHouse({ url: clickhouseUrl(config), username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, database: 'default', requestTimeoutMs: 10_000 })
    : undefined;
  const canary = canaryKey && canaryClient
    ? startCanary({
        ingestUrl: () => (ingestPort === undefined ? undefined : `http://${canaryHost.includes(':') ? `[${canaryHost}]` : canaryHost}:${ingestPort}`),
        key: canaryKey,
        intervalMs: config.GATEWAY_CANARY_INTERVAL_MS,
        clickhouse: canaryClient,
        database: config.CLICKHOUSE_DATABASE,
        table: config.GATEWAY_CANARY_TABLE,
        registry: primaryRegistry,
        logger: logger.child({ component: 'canary' }),
      })
    : undefined;

  onShutdown(logger, async () => {
    shuttingDown = true;
    clearInterval(probeTimer);
    canary?.stop();
    await canaryClient?.close().catch(() => {});
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exited = Promise.all(workers.map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve())))));
    for (const w of workers) w.process.kill('SIGTERM');
    const killTimer = setTimeout(() => {
      logger.error('gateway processes did not drain in time; killing them');
      for (const w of workers) w.process.kill('SIGKILL');
    }, config.SHUTDOWN_TIMEOUT_MS + 5000);
    await exited;
    clearTimeout(killTimer);
    await adminServer.close();
    await kafkaAdmin.disconnect().catch((error: unknown) => logger.debug({ err: error }, 'kafka admin disconnect failed'));
    logger.info('gateway stopped');
  });
}

/** The /ui/traces page reads the span store; its ClickHouse client is made on first use. */
function traceQueries(config: GatewayConfig) {
  let store: TraceStore | undefined;
  let client: ClickHouseClient | undefined;
  const get = () => {
    client ??= createClickHouse({ url: clickhouseUrl(config), username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, database: 'default', requestTimeoutMs: 10_000 });
    store ??= new TraceStore({ client, database: config.CLICKHOUSE_DATABASE });
    return store;
  };
  return {
    journey: (id: string) => get().journey(id),
    list: (options: { sinceSeconds: number; limit: number; order: 'slowest' | 'recent' }) => get().list(options),
  };
}

const config = loadConfig(gatewaySchema);
if (cluster.isPrimary) await runPrimary(config);
else await runGatewayProcess(config);
