/**
 * Every error code, each with the HTTP status an API answer carries for it; docs/errors.md
 * explains each one. Codes that never reach an API client (logs, the CLI, `floodgate status`)
 * answer 500 should one ever be sent. A retired code is never reused for another meaning.
 */
export const ERROR_CODES = {
  // API answers (docs/errors.md, first table)
  BODY_MALFORMED_JSON: 400,
  BODY_EMPTY: 400,
  EVENT_INVALID: 400,
  BODY_TOO_LARGE: 413,
  BODY_BAD_ENCODING: 400,
  BODY_TOO_DEEP: 400,
  TOO_MANY_EVENTS: 413,
  EVENT_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNSUPPORTED_ENCODING: 415,
  UNAUTHORIZED: 401,
  RATE_LIMITED: 429,
  METHOD_NOT_ALLOWED: 405,
  WS_MESSAGE_TOO_LARGE: 413,
  WS_TOO_MANY_UNACKED: 429,
  NOT_FOUND: 404,
  KAFKA_UNAVAILABLE: 503,
  OVERLOADED: 503,
  INTERNAL: 500,
  // Configuration, start-up and the local stack
  CONFIG_INVALID: 500,
  CONFIG_FILE_UNREADABLE: 500,
  LISTEN_FAILED: 500,
  STACK_START_FAILED: 500,
  STACK_DEPENDENCY_MISSING: 500,
  STACK_UNHEALTHY: 500,
  SHUTDOWN_TIMEOUT: 500,
  ACTOR_NO_REPLY: 500,
  TRACE_EXPORT_FAILED: 500,
  BENCH_CEILING_FAILED: 500,
  // The sink, its control plane and the CLI's sink commands (docs/errors.md, second table)
  CLICKHOUSE_UNAVAILABLE: 500,
  NATS_UNAVAILABLE: 500,
  NATS_AUTH_FAILED: 500,
  CONTROL_NO_REPLY: 500,
  CONTROL_FAILED: 500,
  SINK_NOT_FOUND: 500,
  SINK_PARTITION_LOST: 500,
  SINK_PARTITION_STUCK: 500,
  SINK_STATE_UNAVAILABLE: 500,
  SINK_BATCH_STATE_LOST: 500,
  SINK_BATCH_RECORD_INVALID: 500,
  SINK_BATCH_RECORD_CHANGED: 500,
  SINK_DLQ_UNAVAILABLE: 500,
  KAFKA_COMMIT_FAILED: 500,
  EVENT_UNREADABLE: 500,
} as const satisfies Record<string, number>;

export type FloodgateErrorCode = keyof typeof ERROR_CODES;
