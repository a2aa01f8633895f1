import { migrate } from '@floodgate/clickhouse';
import { topicReplication } from '@floodgate/config';
import { createKafka, ensureTopics, pipelineTopics } from '@floodgate/kafka';
import type { Logger } from '@floodgate/logging';
import { onStopRequest, untilReady } from '@floodgate/lifecycle';
import { connectNats } from '@floodgate/nats';
import { createSinkClickHouse } from './clickhouse.ts';
import type { SupervisorConfig } from './config.ts';
import { createSinkSupervisor } from './supervisor.ts';

/**
 * Runs the sink supervisor in this process (it becomes the node:cluster primary) until SIGTERM or
 * SIGINT (or, when a parent started it with an IPC channel, as `floodgate start` does, until that
 * parent goes away), then drains every sink process and resolves. Used by supervisor-main.ts and by
 * `floodgate sink start`.
 */
export async function runSupervisor(config: SupervisorConfig, logger: Logger): Promise<void> {
  // Schema and topics once, before N processes would race to create them.
  const clickhouse = createSinkClickHouse(config);
  try {
    await untilReady('clickhouse migrations', logger, () => migrate(clickhouse, config.CLICKHOUSE_DATABASE));
  } finally {
    await clickhouse.close();
  }
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `floodgate-sink-supervisor-${config.SINK_SUPERVISOR_ID}`, logger });
  await untilReady('kafka topics', logger, () => ensureTopics(kafka, pipelineTopics(config), topicReplication(config)));
  const kafkaAdmin = kafka.admin();
  await untilReady('kafka admin connect', logger, () => kafkaAdmin.connect());
  const nc = await untilReady('nats connect', logger, () => connectNats({ config, name: `floodgate-sink-supervisor-${config.SINK_SUPERVISOR_ID}`, logger }));
  const supervisor = createSinkSupervisor(config, { nc, kafkaAdmin, logger });
  await supervisor.start();
  const record = supervisor.record();
  logger.info(
    {
      supervisor: supervisor.id,
      mode: record.mode,
      processes: record.desired,
      auto: record.auto,
      adminPort: record.adminPort,
      group: config.SINK_GROUP_ID,
      topic: config.KAFKA_TOPIC,
      restarts: `a sink process that dies is restarted with backoff (up to ${config.SINK_WORKER_MAX_RESTARTS} times within ${config.SINK_WORKER_RESTART_WINDOW_MS} ms)`,
    },
    'sink supervisor running',
  );
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'sink supervisor stopping: draining its sink processes');
      void supervisor.stop().finally(resolve);
    };
    // A signal, or `floodgate start` or a test that started it died: drain and go, leave no orphan.
    onStopRequest(stop);
  });
  await kafkaAdmin.disconnect().catch(() => {});
  await nc.close().catch(() => {});
  logger.info('sink supervisor stopped');
}
