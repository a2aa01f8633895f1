import { Counter, type Registry } from 'prom-client';

/**
 * The metrics contract every component follows (docs/metrics.md): events, not requests, under the
 * same four names, told apart by a `component` label, so one dashboard row and one alert rule work
 * for the gateway, the ingest worker threads and the sink alike.
 *
 * - received: events the component took in (gateway: requests and messages it was handed, counted
 *   in events once parsed; sink: events read from Kafka);
 * - sent: events it passed on (ingest: acknowledged by Kafka; sink: inserted into ClickHouse);
 * - errored: events of an attempt that failed and may be retried (a Kafka send that failed, an
 *   insert that will be retried), by code;
 * - dropped: events that will not go further (refused as invalid, dead-lettered), by code.
 */
export type Component = 'gateway' | 'ingest' | 'sink';

export const EVENT_METRIC_NAMES = {
  received: 'floodgate_events_received_total',
  sent: 'floodgate_events_sent_total',
  errored: 'floodgate_events_errored_total',
  dropped: 'floodgate_events_dropped_total',
  kafkaProduceFailures: 'floodgate_kafka_produce_failures_total',
} as const;

export interface EventCounters {
  received: Counter<'component'>;
  sent: Counter<'component'>;
  errored: Counter<'component' | 'code'>;
  dropped: Counter<'component' | 'code'>;
}

export function createEventCounters(registry: Registry): EventCounters {
  const registers = [registry];
  return {
    received: new Counter({ name: EVENT_METRIC_NAMES.received, help: 'Events a component took in', labelNames: ['component'], registers }),
    sent: new Counter({ name: EVENT_METRIC_NAMES.sent, help: 'Events a component passed on (to Kafka, to ClickHouse)', labelNames: ['component'], registers }),
    errored: new Counter({ name: EVENT_METRIC_NAMES.errored, help: 'Events of a failed attempt that is retried or answered as retriable, by code', labelNames: ['component', 'code'], registers }),
    dropped: new Counter({ name: EVENT_METRIC_NAMES.dropped, help: 'Events that will not go further (refused as invalid, dead-lettered), by code', labelNames: ['component', 'code'], registers }),
  };
}

/** Kafka sends that failed (each a micro-batch of events), by code. */
export function createKafkaProduceFailures(registry: Registry): Counter<'component' | 'code'> {
  return new Counter({ name: EVENT_METRIC_NAMES.kafkaProduceFailures, help: 'Kafka produce requests that failed, by code', labelNames: ['component', 'code'], registers: [registry] });
}
