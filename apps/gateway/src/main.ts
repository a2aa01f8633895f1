import { loadConfig } from '@floodgate/config';
import { createLogger } from '@floodgate/logging';
import { createKafka, ensureTopics } from '@floodgate/kafka';
import { gatewaySchema } from './config.ts';
import { createGateway } from './gateway.ts';

const logger = createLogger('gateway');
const config = loadConfig(gatewaySchema);

await ensureTopics(createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'floodgate-gateway-migrate', logger }), [
  { topic: config.KAFKA_TOPIC, partitions: config.KAFKA_PARTITIONS },
  { topic: config.KAFKA_DLQ_TOPIC, partitions: config.KAFKA_PARTITIONS },
]);
const gateway = createGateway(config, logger);
const { port } = await gateway.listen();
logger.info({ host: config.GATEWAY_HOST, port }, 'gateway listening');

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'gateway draining');
    gateway.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'gateway shutdown failed');
        process.exit(1);
      },
    );
  });
}
