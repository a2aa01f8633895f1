import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { migrate } from '@floodgate/clickhouse';
import { clickhouseUrl, loadConfig, topicReplication } from '@floodgate/config';
import { FloodgateError } from '@floodgate/errors';
import { createKafka, ensureTopics, pipelineTopics } from '@floodgate/kafka';
import { createLogger, type Logger } from '@floodgate/logging';
import { connectNats } from '@floodgate/nats';
import { setupTracing } from '@floodgate/telemetry/sdk';
import { onStopRequest, untilReady } from '@floodgate/lifecycle';
import { registryMetrics, startAdminServer, type SinkAdminServer } from './admin-server.ts';
import { createSinkClickHouse, tableEngine } from './clickhouse.ts';
import { sinkSchema } from './config.ts';
import { startProcessControlPlane, type ProcessControlPlane } from './control-plane.ts';
import { DRAINED_MESSAGE } from './ipc.ts';
import { createSinkMetrics } from './metrics.ts';
import { createSink } from './sink.ts';


async function main(): Promise<void> {
  const config = loadConfig(sinkSchema);
  const logger = createLogger('sink-worker').child({ process: config.SINK_PROCESS_ID });
  const supervisorId = cluster.isWorker ? process.env.SINK_SUPERVISOR_ID : undefined;
  // Spans of batches with sampled events (docs/tracing.md), into the span store and any OTLP endpoint.
  const tracing = setupTracing({
    defaultServiceName: 'floodgate-sink',
    spanStore: { url: clickhouseUrl(config), username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, database: config.CLICKHOUSE_DATABASE },
    logger,
  });

  const clickhouse = createSinkClickHouse(config);
  const applied = await untilReady('clickhouse migrations', logger, () => migrate(clickhouse, config.CLICKHOUSE_DATABASE));
  if (applied.length > 0) logger.info({ applied }, 'clickhouse migrations applied');
  const engine = await tableEngine(clickhouse, config.CLICKHOUSE_DATABASE, config.SINK_TABLE).catch(() => undefined);
  if (engine && engine !== 'ReplacingMergeTree') {
    logger.warn(
      { table: `${config.CLICKHOUSE_DATABASE}.${config.SINK_TABLE}`, engine },
      'the events table predates the ReplacingMergeTree schema: client retries are not collapsed; drop the database to recreate it',
    );
  }

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `floodgate-sink-${config.SINK_PROCESS_ID}`, logger });
  await untilReady('kafka topics', logger, () =>
    ensureTopics(kafka, pipelineTopics(config), topicReplication(config)),
  );
  const nc = await untilReady('nats connect', logger, () => connectNats({ config, name: `floodgate-sink-${config.SINK_PROCESS_ID}`, logger }));

  const metrics = createSinkMetrics();
  let admin: SinkAdminServer | undefined;
  let ready = false;
  if (cluster.isWorker) {
    // The supervisor serves the sum over its sink processes on its own admin port. prom-client
    // answers the primary's requests only once an AggregatorRegistry exists in the worker.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([metrics.registry]);
  } else {
    admin = await startAdminServer({
      host: config.SINK_ADMIN_HOST,
      port: config.SINK_ADMIN_PORT,
      metrics: registryMetrics(metrics.registry),
      readiness: () => ({ ready, checks: { consuming: ready } }),
      adminToken: config.FLOODGATE_ADMIN_TOKEN,
      logger,
    }).catch((error: unknown) => {
      // Metrics are not worth refusing to deliver events for; say so loudly and go on.
      logger.error({ err: error, port: config.SINK_ADMIN_PORT }, 'cannot start the admin endpoint (/metrics); continuing without it');
      return undefined;
    });
  }

  const sink = createSink(config, {
    kafka,
    clickhouse,
    nc,
    logger,
    metrics,
    ...(supervisorId ? { supervisorId } : {}),
    adminPort: () => admin?.port,
  });
  let drainRequested = false;
  await sink.start();
  const control: ProcessControlPlane = await startProcessControlPlane(config, nc, sink, logger, () => {
    drainRequested = true;
  });
  ready = true;
  logger.info(
    { topic: config.KAFKA_TOPIC, group: config.SINK_GROUP_ID, table: `${config.CLICKHOUSE_DATABASE}.${config.SINK_TABLE}`, adminPort: admin?.port, supervisor: supervisorId },
    'sink consuming',
  );

  let exiting = false;
  const shutdown = async (why: string, failure?: unknown): Promise<void> => {
    if (exiting) return;
    exiting = true;
    ready = false;
    let code = failure === undefined ? 0 : 1;
    logger.info({ why }, 'sink stopping');
    const timer = setTimeout(() => {
      logger.error({ code: 'SHUTDOWN_TIMEOUT', timeoutMs: config.SINK_SHUTDOWN_TIMEOUT_MS }, 'drain did not finish in time; exiting (uncommitted batches are re-read by the next owner)');
      process.exit(1);
    }, config.SINK_SHUTDOWN_TIMEOUT_MS + 5000);
    timer.unref();
    try {
      if (failure === undefined) await sink.drain();
    } catch (error) {
      logger.error({ err: error }, 'drain failed');
      code = 1;
    }
    await control.stop().catch(() => {});
    await tracing.shutdown().catch(() => {});
    await nc.close().catch(() => {});
    await clickhouse.close().catch(() => {});
    await admin?.close().catch(() => {});
    if (cluster.isWorker && drainRequested && code === 0 && process.send) {
      // Tell the supervisor this exit is a drain, not a crash; wait for the message to leave.
      await new Promise<void>((resolve) => {
        const bound = setTimeout(resolve, 2000);
        process.send!({ type: DRAINED_MESSAGE, process: config.SINK_PROCESS_ID }, undefined, {}, () => {
          clearTimeout(bound);
          resolve();
        });
      });
    }
    logger.info({ code }, 'sink stopped');
    process.exit(code);
  };

  // A signal, or the test runner or `floodgate start` that started it died: drain and go, leave no orphan.
  onStopRequest((reason) => void shutdown(reason));
  void sink.ended.then((outcome) => {
    if (outcome.reason === 'failed') void shutdown('failure', outcome.error ?? new FloodgateError('INTERNAL', 'sink failed'));
    else void shutdown(drainRequested ? 'drain command' : 'drained');
  });
}

main().catch((error: unknown) => {
  createLogger('sink-worker').fatal({ err: error }, 'sink failed to start');
  process.exit(1);
});
