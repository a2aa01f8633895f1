import type { ClickHouseClient } from '@clickhouse/client';
import type { Consumer, Kafka } from 'kafkajs';
import { batchDedupToken, insertEventRows } from '@floodgate/clickhouse';
import type { Logger } from '@floodgate/logging';
import type { SinkConfig } from './config.ts';
import { toEventRow } from './rows.ts';

export interface Sink {
  start(): Promise<void>;
  /** Leaves the consumer group; only offsets of inserted batches were ever committed. */
  stop(): Promise<void>;
}

/**
 * The first sink: one consumer in a group; each fetched partition batch is inserted with a
 * deduplication token derived from its offsets, and its offsets are committed only after the
 * insert succeeded. A failed insert throws, so kafkajs fetches the same range again.
 */
export function createSink(config: SinkConfig, kafka: Kafka, clickhouse: ClickHouseClient, logger: Logger): Sink {
  const table = `${config.CLICKHOUSE_DATABASE}.${config.SINK_TABLE}`;
  const consumer: Consumer = kafka.consumer({
    groupId: config.SINK_GROUP_ID,
    maxWaitTimeInMs: config.SINK_FETCH_MAX_WAIT_MS,
    maxBytesPerPartition: config.SINK_FETCH_MAX_BYTES_PER_PARTITION,
    allowAutoTopicCreation: false,
  });

  return {
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topic: config.KAFKA_TOPIC, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, isRunning, isStale }) => {
          if (batch.messages.length === 0 || !isRunning() || isStale()) return;
          const first = batch.messages[0]!.offset;
          const last = batch.lastOffset();
          const rows = batch.messages.map((m) => toEventRow(m, batch.partition));
          const started = performance.now();
          await insertEventRows(clickhouse, table, rows, batchDedupToken(batch.topic, batch.partition, first, last));
          resolveOffset(last);
          await consumer.commitOffsets([
            { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
          ]);
          logger.debug(
            { partition: batch.partition, rows: rows.length, first, last, ms: Math.round(performance.now() - started) },
            'batch inserted',
          );
        },
      });
    },
    async stop() {
      await consumer.disconnect();
    },
  };
}
