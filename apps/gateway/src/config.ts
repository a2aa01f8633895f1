import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { env, isLoopbackHost, stackSchema } from '@floodgate/config';

export const gatewaySchema = stackSchema
  .extend({
    GATEWAY_HOST: env.string('127.0.0.1'),
    /** Ingest port (HTTP and WebSocket). 0 picks a free port (one process only). */
    GATEWAY_PORT: env.int(8080, 0, 65535),
    /** Admin port: /healthz, /readyz, /metrics. */
    ADMIN_HOST: env.string('127.0.0.1'),
    ADMIN_PORT: env.int(9090, 0, 65535),
    /**
     * Gateway processes on the ingest port (node:cluster, SO_REUSEPORT). The event loop does little
     * (framing, auth, hand-off); the ingest threads do the parsing and producing, and every thread
     * owns a Kafka producer, so fewer, fuller producers beat many small ones: measured on 2 cores
     * (docs/gateway.md), 1 process with 1 thread served the most. Default: a process per 4 cores.
     */
    GATEWAY_PROCESSES: env.int(Math.max(1, Math.floor(availableParallelism() / 4)), 1, 256),
    /** piscina worker threads per gateway process; default: one per 2 cores. */
    INGEST_THREADS: env.int(Math.max(1, Math.floor(availableParallelism() / 2)), 1, 64),

    /** `tenant:key,tenant:key`. */
    FLOODGATE_API_KEYS: z.string().optional(),
    /** JSON file `{"keys": [{"tenant", "key" | "sha256", "eventsPerSecond"?, "requestsPerSecond"?}]}`. */
    FLOODGATE_API_KEYS_FILE: z.string().optional(),
    /** `off` accepts requests without a key as tenant `default`. Unsafe: development only. */
    FLOODGATE_AUTH: z.enum(['on', 'off']).default('on'),
    /**
     * Token for the admin endpoints other than /healthz and /readyz; unset: they are open, which is
     * allowed only while GATEWAY_HOST and ADMIN_HOST are loopback (the gateway refuses to start otherwise).
     */
    FLOODGATE_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),

    /** Default per-key limits (a key file entry may set its own); 0 = unlimited. Shared by all processes. */
    RATE_LIMIT_EVENTS_PER_SEC: env.int(0, 0),
    RATE_LIMIT_REQUESTS_PER_SEC: env.int(0, 0),

    /** Largest accepted request body, as sent (compressed or not). */
    MAX_BODY_BYTES: env.int(1024 * 1024, 1024, 256 * 1024 * 1024),
    /** Largest body after decompression: a gzip bomb stops here with 413. */
    MAX_DECOMPRESSED_BYTES: env.int(8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    MAX_EVENTS_PER_REQUEST: env.int(10_000, 1, 1_000_000),
    MAX_EVENT_BYTES: env.int(256 * 1024, 256, 16 * 1024 * 1024),
    MAX_NESTING_DEPTH: env.int(32, 2, 1000),

    /** Micro-batches one ingest thread works on at once (most of them waiting for Kafka). */
    INGEST_TASKS_PER_THREAD: env.int(64, 1, 10_000),
    /** Requests per worker task. */
    MICROBATCH_MAX_REQUESTS: env.int(512, 1, 10_000),
    /** 0: a micro-batch is what arrived during one event-loop turn; else wait up to this many ms. */
    MICROBATCH_MAX_WAIT_MS: env.int(0, 0, 1000),
    /** Requests in one gateway process not yet answered; beyond it new requests get 503. */
    MAX_PENDING_REQUESTS: env.int(20_000, 1, 1_000_000),
    /** A Kafka send not acknowledged in this time fails its requests with 503. */
    KAFKA_SEND_TIMEOUT_MS: env.int(5000, 100, 120_000),
    /**
     * Compression of produce requests. Default none, by measurement (docs/performance.md): gzip's
     * fixed cost per produce request was 29 % of an ingest thread's CPU under single events on 2
     * cores; gzip saves network across hosts at that CPU price.
     */
    KAFKA_COMPRESSION: z.enum(['none', 'gzip']).default('none'),

    WS_MAX_MESSAGE_BYTES: env.int(1024 * 1024, 1024, 64 * 1024 * 1024),
    /** Messages of one connection sent and not yet acknowledged; more are nacked. */
    WS_MAX_UNACKED: env.int(64, 1, 100_000),
    /** Bytes buffered towards a slow reader: past a quarter of it the connection is throttled, past it closed. */
    WS_MAX_BUFFERED_BYTES: env.int(1024 * 1024, 16 * 1024, 1024 * 1024 * 1024),
    /**
     * Freshness canary (docs/metrics.md): every this many ms one canary event goes through this
     * gateway into ClickHouse and its time to land is `floodgate_freshness_seconds`. 0: off (the
     * default; `floodgate start` turns it on at 5000).
     */
    GATEWAY_CANARY_INTERVAL_MS: env.int(0, 0, 3_600_000),
    /** The sink's events table in CLICKHOUSE_DATABASE, where the canaries land (the sink's SINK_TABLE). */
    GATEWAY_CANARY_TABLE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('events'),
    /** Set by the primary for its processes: the canary's key (tenant floodgate-canary). Not for operators. */
    FLOODGATE_CANARY_KEY: z.string().min(16).optional(),
    /** A reader throttled (behind on its acks) this long is closed with 4008. */
    WS_SLOW_READER_CLOSE_MS: env.int(10_000, 100, 600_000),
    /** A connection silent this long is closed; pings are sent before that. */
    WS_IDLE_TIMEOUT_SEC: env.int(60, 8, 960),

    SHUTDOWN_TIMEOUT_MS: env.int(15_000, 100, 600_000),
  })
  .superRefine((c, ctx) => {
    if (c.KAFKA_MIN_INSYNC_REPLICAS > c.KAFKA_REPLICATION_FACTOR) {
      ctx.addIssue({ code: 'custom', path: ['KAFKA_MIN_INSYNC_REPLICAS'], message: 'must not exceed KAFKA_REPLICATION_FACTOR' });
    }
    if (c.GATEWAY_PORT === 0 && c.GATEWAY_PROCESSES > 1) {
      ctx.addIssue({ code: 'custom', path: ['GATEWAY_PORT'], message: 'must be a fixed port when GATEWAY_PROCESSES > 1 (each process would pick another)' });
    }
    // Reachable from the network: nothing may be open (docs/security.md, "Network exposure").
    const exposed = [c.GATEWAY_HOST, c.ADMIN_HOST].some((host) => !isLoopbackHost(host));
    if (exposed && !c.FLOODGATE_ADMIN_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['FLOODGATE_ADMIN_TOKEN'],
        message: `required when GATEWAY_HOST (${c.GATEWAY_HOST}) or ADMIN_HOST (${c.ADMIN_HOST}) is not a loopback address: /metrics and the admin UI would be open to the network`,
      });
    }
    if (!isLoopbackHost(c.GATEWAY_HOST) && c.FLOODGATE_AUTH === 'off') {
      ctx.addIssue({
        code: 'custom',
        path: ['FLOODGATE_AUTH'],
        message: `off is refused when GATEWAY_HOST (${c.GATEWAY_HOST}) is not a loopback address: anyone on the network could ingest; set FLOODGATE_API_KEYS or FLOODGATE_API_KEYS_FILE`,
      });
    }
    if (c.FLOODGATE_AUTH === 'on' && !c.FLOODGATE_API_KEYS && !c.FLOODGATE_API_KEYS_FILE) {
      ctx.addIssue({
        code: 'custom',
        path: ['FLOODGATE_API_KEYS'],
        message: 'no API keys: set FLOODGATE_API_KEYS or FLOODGATE_API_KEYS_FILE (or FLOODGATE_AUTH=off, unsafe)',
      });
    }
  });

export type GatewayConfig = z.infer<typeof gatewaySchema>;
