import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createEventCounters, createKafkaProduceFailures } from '@floodgate/telemetry';

/** The gateway's Prometheus metrics, one registry per gateway process (aggregated by the primary). */
export function createGatewayMetrics() {
  const registry = new Registry();
  // The standard Node.js names (process_*, nodejs_*), no prefix: stock dashboards work; `job` tells the components apart.
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'floodgate_gateway_requests_total',
    help: 'Requests (HTTP) and messages (WebSocket) answered, by route and status',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  return {
    registry,
    requests,
    /** The cross-component contract: component="gateway" (the edge) and "ingest" (the worker threads). */
    events: createEventCounters(registry),
    kafkaProduceFailures: createKafkaProduceFailures(registry),
    eventsAccepted: new Counter({
      name: 'floodgate_gateway_events_accepted_total',
      help: 'Events acknowledged by Kafka and answered 2xx/ack',
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'floodgate_gateway_rejected_total',
      help: 'Requests and messages refused, by error code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'floodgate_gateway_request_duration_seconds',
      help: 'Time from receiving a request to answering it',
      labelNames: ['route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    kafkaProduceDuration: new Histogram({
      name: 'floodgate_gateway_kafka_produce_duration_seconds',
      help: 'Duration of one Kafka send of a micro-batch (acks=all)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    pending: new Gauge({
      name: 'floodgate_gateway_pending_requests',
      help: 'Requests handed to the ingest workers and not yet answered',
      registers: [registry],
    }),
    poolQueue: new Gauge({
      name: 'floodgate_gateway_pool_queue_depth',
      help: 'Tasks waiting for a free ingest worker thread',
      registers: [registry],
    }),
    wsClosed: new Counter({
      name: 'floodgate_gateway_websocket_closed_by_server_total',
      help: 'WebSocket connections the gateway closed, by reason (slow_reader)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    wsThrottled: new Gauge({
      name: 'floodgate_gateway_websocket_throttled_connections',
      help: 'Open WebSocket connections behind on reading their acks (messages held or buffered bytes over a quarter of the bound), as of the last sweep',
      registers: [registry],
    }),
    wsHeldMessages: new Gauge({
      name: 'floodgate_gateway_websocket_held_messages',
      help: 'Messages of throttled WebSocket connections held unprocessed, as of the last sweep',
      registers: [registry],
    }),
    wsConnections: new Gauge({
      name: 'floodgate_gateway_websocket_connections',
      help: 'Open WebSocket connections',
      registers: [registry],
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
