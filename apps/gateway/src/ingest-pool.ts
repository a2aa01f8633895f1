/** The gateway's ingest threads: a piscina pool running the ingest worker (apps/ingest-worker). */
import { Piscina } from 'piscina';
import { DEFAULT_EVENT_LIMITS } from '@floodgate/event-model';
import { INGEST_WORKER_FILE, type IngestWorkerData } from '@floodgate/ingest-worker';
import { clickhouseUrl } from '@floodgate/config';
import type { Tracing } from '@floodgate/telemetry/sdk';
import type { GatewayConfig } from './config.ts';

/**
 * `flushChannel`: where the gateway asks its threads to export their spans before it stops them.
 * `execArgv`: the threads' Node flags (default: the process's); a test running in a process without
 * the TypeScript loader passes `['--import', 'tsx']`.
 */
export function createIngestPool(config: GatewayConfig, tracing: Tracing | undefined, flushChannel: string, execArgv?: string[]): Piscina {
  const workerData: IngestWorkerData = {
    kafkaBrokers: config.KAFKA_BROKERS,
    topic: config.KAFKA_TOPIC,
    sendTimeoutMs: config.KAFKA_SEND_TIMEOUT_MS,
    compression: config.KAFKA_COMPRESSION,
    maxDecompressedBytes: config.MAX_DECOMPRESSED_BYTES,
    limits: {
      ...DEFAULT_EVENT_LIMITS,
      maxEventsPerRequest: config.MAX_EVENTS_PER_REQUEST,
      maxEventBytes: config.MAX_EVENT_BYTES,
      maxDepth: config.MAX_NESTING_DEPTH,
    },
    ...(tracing
      ? {
          telemetry: {
            spanStore: { url: clickhouseUrl(config), username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, database: config.CLICKHOUSE_DATABASE },
            flushChannel,
          },
        }
      : {}),
  };
  return new Piscina({
    filename: INGEST_WORKER_FILE,
    minThreads: config.INGEST_THREADS,
    maxThreads: config.INGEST_THREADS,
    // A task spends most of its life waiting for Kafka's ack, and the thread's producer merges the
    // sends of all tasks waiting at once into one request: with few tasks in flight, sparse
    // traffic (one request per micro-batch) would be capped at tasks / produce latency.
    concurrentTasksPerWorker: config.INGEST_TASKS_PER_THREAD,
    // A kafkajs producer lives in the thread: 'sync' atomics would park its event loop between tasks.
    atomics: 'disabled',
    workerData,
    ...(execArgv ? { execArgv } : {}),
  });
}
