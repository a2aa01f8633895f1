// API-level helpers, safe to import anywhere (no SDK): traceparent handling, attribute names,
// journey assembly and the span store reader. The SDK set-up is `@floodgate/telemetry/sdk`.
export {
  parseTraceparent,
  isValidTraceparent,
  isSampledTraceparent,
  formatTraceparent,
  spanContextOf,
  contextOf,
  sampledContexts,
  linksTo,
} from './traceparent.ts';
export type { Traceparent } from './traceparent.ts';
export { TraceDecision } from './decision.ts';
export {
  ATTR_CLIENT_ADDRESS,
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_BATCH_SIZE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_SUMMARY,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
  ATTR_MESSAGING_SYSTEM,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_MESSAGE_BODY_SIZE,
  ATTR_MESSAGING_CLIENT_ID,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_HTTP_REQUEST_BODY_SIZE,
  ATTR_THREAD_ID,
  MESSAGING_SYSTEM_KAFKA,
  DB_SYSTEM_CLICKHOUSE,
  ATTR_HOP,
  ATTR_TENANT,
  ATTR_EVENT_IDS,
  ATTR_EVENT_COUNT,
  ATTR_ERROR_CODE,
  ATTR_BATCH_REQUESTS,
  ATTR_BATCH_EVENTS,
  ATTR_BATCH_BYTES,
  ATTR_BATCH_REJECTED,
  ATTR_BATCH_SAMPLED,
  ATTR_KAFKA_PARTITIONS,
  ATTR_KAFKA_BASE_OFFSETS,
  ATTR_KAFKA_FIRST_OFFSET,
  ATTR_KAFKA_LAST_OFFSET,
  ATTR_INSERT_TOKEN,
  ATTR_INSERT_ATTEMPT,
  MAX_EVENT_IDS_ON_SPAN,
  HOPS,
} from './attributes.ts';
export type { Hop } from './attributes.ts';
export { buildJourney, summarise, formatBytes } from './journey.ts';
export type { Journey, JourneyHop, JourneyEvent, JourneySpanRow } from './journey.ts';
export { TraceStore, parseDuration } from './store.ts';
export type { JourneySummary, TraceStoreOptions } from './store.ts';
export { TRACES_TABLE } from './clickhouse-exporter.ts';
export { flushWorkerTelemetry } from './worker-flush.ts';
export { createEventCounters, createKafkaProduceFailures, EVENT_METRIC_NAMES } from './event-metrics.ts';
export type { Component, EventCounters } from './event-metrics.ts';
