import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createEventCounters, type EventCounters } from '@floodgate/telemetry';

/**
 * The sink's Prometheus metrics, served on /metrics of the admin port (aggregated over the sink
 * processes by the supervisor when it runs them). Names and meanings: docs/sink.md ("Metrics").
 */
export interface SinkMetrics {
  registry: Registry;
  /** The cross-component contract (component="sink"): received from Kafka, sent to ClickHouse, errored inserts, dropped (dead-lettered). */
  events: EventCounters;
  rowsReceived: Counter<'topic'>;
  rowsInserted: Counter<'topic'>;
  rowsDeadLettered: Counter<'topic' | 'code'>;
  batches: Counter<'topic' | 'reason'>;
  batchesDeduplicated: Counter<'topic'>;
  batchRows: Histogram<'topic'>;
  batchBytes: Histogram<'topic'>;
  insertSeconds: Histogram<'topic'>;
  insertRetries: Counter<'topic' | 'code'>;
  commits: Counter<'topic'>;
  actorRestarts: Counter<'topic'>;
  batchRecordsRefused: Counter<'topic'>;
  partitionLag: Gauge<'topic' | 'partition'>;
  partitionPaused: Gauge<'topic' | 'partition'>;
  partitionStuck: Gauge<'topic' | 'partition'>;
  partitionsOwned: Gauge<'topic'>;
}

export function createSinkMetrics(registry = new Registry()): SinkMetrics {
  // The standard Node.js names (process_*, nodejs_*), no prefix: stock dashboards work; `job` tells the components apart.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    events: createEventCounters(registry),
    rowsReceived: new Counter({ name: 'floodgate_sink_rows_received_total', help: 'Events read from Kafka (re-reads after a rebalance count again)', labelNames: ['topic'], registers }),
    rowsInserted: new Counter({ name: 'floodgate_sink_rows_inserted_total', help: 'Rows inserted into ClickHouse (batches ClickHouse deduplicated included)', labelNames: ['topic'], registers }),
    rowsDeadLettered: new Counter({ name: 'floodgate_sink_rows_dead_lettered_total', help: 'Events sent to the dead-letter topic, by reason code', labelNames: ['topic', 'code'], registers }),
    batches: new Counter({ name: 'floodgate_sink_batches_total', help: 'Batches inserted and committed, by what triggered the flush', labelNames: ['topic', 'reason'], registers }),
    batchesDeduplicated: new Counter({ name: 'floodgate_sink_batches_deduplicated_total', help: 'Batches ClickHouse dropped as repeats of an earlier insert (same token)', labelNames: ['topic'], registers }),
    batchRows: new Histogram({ name: 'floodgate_sink_batch_rows', help: 'Rows per batch', labelNames: ['topic'], buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000], registers }),
    batchBytes: new Histogram({ name: 'floodgate_sink_batch_bytes', help: 'Insert body bytes per batch', labelNames: ['topic'], buckets: [1024, 16_384, 131_072, 524_288, 1_048_576, 4_194_304, 8_388_608, 33_554_432, 134_217_728], registers }),
    insertSeconds: new Histogram({ name: 'floodgate_sink_insert_duration_seconds', help: 'Duration of one insert request into ClickHouse', labelNames: ['topic'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers }),
    insertRetries: new Counter({ name: 'floodgate_sink_insert_retries_total', help: 'Insert attempts that failed and were retried, by error code', labelNames: ['topic', 'code'], registers }),
    commits: new Counter({ name: 'floodgate_sink_commits_total', help: 'Offset commits after an insert', labelNames: ['topic'], registers }),
    actorRestarts: new Counter({ name: 'floodgate_sink_actor_restarts_total', help: 'Partition actors restarted by their supervisor after a failure', labelNames: ['topic'], registers }),
    batchRecordsRefused: new Counter({
      name: 'floodgate_sink_batch_records_refused_total',
      help: 'Batch records read back from NATS that contradict Kafka or the table (forged or corrupted) and were refused; the partition waits for an operator',
      labelNames: ['topic'],
      registers,
    }),
    partitionLag: new Gauge({ name: 'floodgate_sink_partition_lag', help: 'Events in the partition not yet committed (end offset - committed offset)', labelNames: ['topic', 'partition'], registers }),
    partitionPaused: new Gauge({ name: 'floodgate_sink_partition_paused', help: '1 while fetching of the partition is paused (retrying, back-pressure, operator)', labelNames: ['topic', 'partition'], registers }),
    partitionStuck: new Gauge({
      name: 'floodgate_sink_partition_stuck',
      help: '1 while the partition is stuck: its current batch has kept failing past SINK_STUCK_AFTER_MS or SINK_STUCK_AFTER_ATTEMPTS (alert on it)',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    partitionsOwned: new Gauge({ name: 'floodgate_sink_partitions_owned', help: 'Partitions this process owns', labelNames: ['topic'], registers }),
  };
}
