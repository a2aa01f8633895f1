import { Kafka, logLevel, Partitioners, type LogEntry, type logCreator, type ProducerConfig } from 'kafkajs';
import type { Logger } from '@floodgate/logging';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** Routes kafkajs' own logs into our structured logger instead of its console output. */
function kafkajsLogCreator(logger: Logger): logCreator {
  return () => ({ namespace, level, log }: LogEntry) => {
    const { message, ...rest } = log;
    logger[LEVELS[level] ?? 'info']({ kafkajs: namespace, ...rest }, message);
  };
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** How long a connection attempt may take before the broker counts as unreachable. */
  connectionTimeoutMs?: number;
}

export function createKafka(options: KafkaClientOptions): Kafka {
  return new Kafka({
    brokers: options.brokers,
    clientId: options.clientId,
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: 10_000,
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator(options.logger.child({ component: 'kafkajs' })),
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
  });
}

/**
 * The settings every producer of ours shares: one request in flight, no topic created by a send,
 * murmur2 partitioning as the Java client (the same key lands on the same partition from any
 * producer), and bounded retries, so a dead broker turns into an error we can answer (503, a
 * paused partition) instead of a hang.
 */
export function producerConfig(options: { idempotent: boolean }): ProducerConfig {
  return {
    idempotent: options.idempotent,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
  };
}
