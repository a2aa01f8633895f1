/**
 * Attribute names. Stable OpenTelemetry semantic conventions come from the package (typed, and
 * renamed upstream only with a major version); the messaging, thread and request-size names are
 * still "development" upstream, so they are copied here as the package itself recommends (its
 * incubating entry point may change in any minor release).
 */
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
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';

// Development-status conventions (https://opentelemetry.io/docs/specs/semconv/messaging/).
export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_DESTINATION_PARTITION_ID = 'messaging.destination.partition.id';
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ATTR_MESSAGING_MESSAGE_BODY_SIZE = 'messaging.message.body.size';
export const ATTR_MESSAGING_CLIENT_ID = 'messaging.client.id';
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';
export const ATTR_MESSAGING_KAFKA_OFFSET = 'messaging.kafka.offset';
export const ATTR_HTTP_REQUEST_BODY_SIZE = 'http.request.body.size';
export const ATTR_THREAD_ID = 'thread.id';
export const MESSAGING_SYSTEM_KAFKA = 'kafka';
export const DB_SYSTEM_CLICKHOUSE = 'clickhouse';

/**
 * Floodgate's own attributes. `floodgate.hop` names the step of an event's journey a span stands
 * for; the trace CLI and the web page find and label spans by it.
 */
export const ATTR_HOP = 'floodgate.hop';
export const ATTR_TENANT = 'floodgate.tenant';
/** Event ids of a request (the first MAX_EVENT_IDS_ON_SPAN), on the gateway span. */
export const ATTR_EVENT_IDS = 'floodgate.event.ids';
export const ATTR_EVENT_COUNT = 'floodgate.event.count';
export const ATTR_ERROR_CODE = 'floodgate.error.code';
export const ATTR_BATCH_REQUESTS = 'floodgate.batch.requests';
export const ATTR_BATCH_EVENTS = 'floodgate.batch.events';
export const ATTR_BATCH_BYTES = 'floodgate.batch.bytes';
export const ATTR_BATCH_REJECTED = 'floodgate.batch.rejected_requests';
export const ATTR_BATCH_SAMPLED = 'floodgate.batch.sampled_events';
/** Kafka partitions and, index by index, the base offsets a produce request was written at. */
export const ATTR_KAFKA_PARTITIONS = 'floodgate.kafka.partitions';
export const ATTR_KAFKA_BASE_OFFSETS = 'floodgate.kafka.base_offsets';
export const ATTR_KAFKA_FIRST_OFFSET = 'floodgate.kafka.first_offset';
export const ATTR_KAFKA_LAST_OFFSET = 'floodgate.kafka.last_offset';
export const ATTR_INSERT_TOKEN = 'floodgate.clickhouse.dedup_token';
export const ATTR_INSERT_ATTEMPT = 'floodgate.clickhouse.attempt';

export const MAX_EVENT_IDS_ON_SPAN = 100;

/** The hops of an event's journey, in order. */
export const HOPS = Object.freeze({
  gatewayRequest: 'gateway.request',
  ingestBatch: 'ingest.batch',
  kafkaProduce: 'kafka.produce',
  sinkConsume: 'sink.consume',
  clickhouseInsert: 'clickhouse.insert',
} as const);
export type Hop = (typeof HOPS)[keyof typeof HOPS];
