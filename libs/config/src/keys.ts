/**
 * The one registry of our environment variables. Apps share one environment (`floodgate start`
 * passes the same to gateway and sink; compose and Kubernetes use shared env files), so an app
 * must accept every variable of every app, and reject only one that is ours and that no app reads:
 * a typo such as `SINK_FLUSH_MAX_ROW` would otherwise be ignored in silence. A variable is ours when
 * it starts with one of OUR_PREFIXES (KAFKA_, NATS_, CLICKHOUSE_ and OTEL_ are not checked: other
 * software reads variables of those names, e.g. Kafka's scripts KAFKA_HEAP_OPTS).
 *
 * A new variable goes here too; deploy/test/config-keys.unit.test.ts checks that every app's schema
 * is covered.
 */
export const OUR_PREFIXES = ['FLOODGATE_', 'GATEWAY_', 'SINK_', 'CHDB_'] as const;

export const KNOWN_KEYS: ReadonlySet<string> = new Set([
  // every app and the CLI
  'FLOODGATE_CONFIG',
  'FLOODGATE_HOME',
  'FLOODGATE_CACHE',
  'FLOODGATE_DEBUG',
  'FLOODGATE_ADMIN_TOKEN',
  // gateway
  'FLOODGATE_API_KEYS',
  'FLOODGATE_API_KEYS_FILE',
  'FLOODGATE_AUTH',
  'FLOODGATE_CANARY_KEY',
  'GATEWAY_HOST',
  'GATEWAY_PORT',
  'GATEWAY_PROCESSES',
  'GATEWAY_CANARY_INTERVAL_MS',
  'GATEWAY_CANARY_TABLE',
  // bench
  'FLOODGATE_API_KEY',
  // sink and its supervisor
  'SINK_ACTOR_MAX_RESTARTS',
  'SINK_ACTOR_RESTART_WINDOW_MS',
  'SINK_ADMIN_HOST',
  'SINK_ADMIN_PORT',
  'SINK_AUTOSCALE',
  'SINK_AUTOSCALE_COOLDOWN_MS',
  'SINK_AUTOSCALE_DOWN_LAG',
  'SINK_AUTOSCALE_DOWN_SUSTAIN_MS',
  'SINK_AUTOSCALE_INTERVAL_MS',
  'SINK_AUTOSCALE_UP_LAG',
  'SINK_AUTOSCALE_UP_SUSTAIN_MS',
  'SINK_FETCH_MAX_BYTES_PER_PARTITION',
  'SINK_FETCH_MAX_WAIT_MS',
  'SINK_FLUSH_MAX_AGE_MS',
  'SINK_FLUSH_MAX_BYTES',
  'SINK_FLUSH_MAX_ROWS',
  'SINK_GROUP_ID',
  'SINK_HEARTBEAT_INTERVAL_MS',
  'SINK_INSERT_TIMEOUT_MS',
  'SINK_MAX_BUFFERED_BYTES',
  'SINK_MEMBER_HEARTBEAT_MS',
  'SINK_MEMBER_TTL_MS',
  'SINK_NATS_PREFIX',
  'SINK_PROCESSES',
  'SINK_PROCESS_ID',
  'SINK_REBALANCE_TIMEOUT_MS',
  'SINK_RETRY_INITIAL_MS',
  'SINK_RETRY_MAX_MS',
  'SINK_SESSION_TIMEOUT_MS',
  'SINK_SHUTDOWN_TIMEOUT_MS',
  'SINK_STUCK_AFTER_ATTEMPTS',
  'SINK_STUCK_AFTER_MS',
  'SINK_SUPERVISOR_ID',
  'SINK_TABLE',
  'SINK_WORKER_MAX_RESTARTS',
  'SINK_WORKER_RESTART_WINDOW_MS',
  // the embedded ClickHouse endpoint
  'CHDB_SERVER_HOST',
  'CHDB_SERVER_PORT',
  'CHDB_DATA_DIR',
  'CHDB_SERVER_USER',
  'CHDB_SERVER_PASSWORD',
  'CHDB_MAX_EXECUTION_TIME_S',
]);

/** The keys among `keys` that are ours (by prefix) and that no app reads, sorted. */
export function unknownKeysOfOurs(keys: Iterable<string>): string[] {
  const unknown = new Set<string>();
  for (const key of keys) if (OUR_PREFIXES.some((p) => key.startsWith(p)) && !KNOWN_KEYS.has(key)) unknown.add(key);
  return [...unknown].sort();
}
