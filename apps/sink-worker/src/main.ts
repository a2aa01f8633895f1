import { clickhouseUrl, loadConfig } from '@floodgate/config';
import { createClickHouse, migrate } from '@floodgate/clickhouse';
import { createLogger } from '@floodgate/logging';
import { createKafka, ensureTopics } from '@floodgate/kafka';
import { sinkSchema } from './config.ts';
import { createSink } from './sink.ts';

const logger = createLogger('sink-worker');
const config = loadConfig(sinkSchema);

const clickhouse = createClickHouse({
  url: clickhouseUrl(config),
  username: config.CLICKHOUSE_USER,
  password: config.CLICKHOUSE_PASSWORD,
  database: 'default',
});
const applied = await migrate(clickhouse, config.CLICKHOUSE_DATABASE);
if (applied.length > 0) logger.info({ applied }, 'clickhouse migrations applied');

const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'floodgate-sink', logger });
await ensureTopics(kafka, [
  { topic: config.KAFKA_TOPIC, partitions: config.KAFKA_PARTITIONS },
  { topic: config.KAFKA_DLQ_TOPIC, partitions: config.KAFKA_PARTITIONS },
]);
const sink = createSink(config, kafka, clickhouse, logger);
await sink.start();
logger.info({ topic: config.KAFKA_TOPIC, group: config.SINK_GROUP_ID }, 'sink consuming');

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'sink stopping');
    sink.stop().then(
      async () => {
        await clickhouse.close();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'sink shutdown failed');
        process.exit(1);
      },
    );
  });
}
