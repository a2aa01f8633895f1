import os from 'node:os';
import { z } from 'zod';
import { env, isLoopbackHost, stackSchema } from '@floodgate/config';
import { PREFIX_PATTERN } from '@floodgate/nats';

const MiB = 1024 * 1024;

/**
 * Configuration of one sink process. Every option has a default; docs/sink.md lists them all.
 * Read once at start-up with loadConfig (environment, or the FLOODGATE_CONFIG file).
 */
export const sinkSchema = stackSchema.extend({
  SINK_GROUP_ID: env.string('floodgate-sink'),
  /** The events table the sink writes, inside CLICKHOUSE_DATABASE. */
  SINK_TABLE: env.string('events'),
  /** Longest wait of a fetch for new events; bounds the accept-to-insert delay at low rates. */
  SINK_FETCH_MAX_WAIT_MS: env.int(100, 10, 10_000),
  SINK_FETCH_MAX_BYTES_PER_PARTITION: env.int(4 * MiB, 1024, 256 * MiB),

  /** A partition's batch is flushed when it holds this many rows... */
  SINK_FLUSH_MAX_ROWS: env.int(10_000, 1, 1_000_000),
  /** ...or this many bytes of rows... */
  SINK_FLUSH_MAX_BYTES: env.int(8 * MiB, 1024, 512 * MiB),
  /** ...or its oldest row arrived this long ago. */
  SINK_FLUSH_MAX_AGE_MS: env.int(1000, 1, 600_000),
  /** Buffered plus queued bytes of one partition above which its fetching pauses (back-pressure). */
  SINK_MAX_BUFFERED_BYTES: env.int(32 * MiB, 64 * 1024, 4096 * MiB),

  /** One insert attempt fails after this long (and is retried with the same token). */
  SINK_INSERT_TIMEOUT_MS: env.int(30_000, 100, 600_000),
  /** Backoff of insert, commit and batch-state retries: first delay ceiling... */
  SINK_RETRY_INITIAL_MS: env.int(200, 1, 60_000),
  /** ...and largest delay ceiling (full jitter below both). */
  SINK_RETRY_MAX_MS: env.int(5000, 1, 600_000),

  /** A partition whose batch has kept failing this long is "stuck" (status, `floodgate_sink_partition_stuck`)... */
  SINK_STUCK_AFTER_MS: env.int(60_000, 100, 86_400_000),
  /** ...or that many times, whichever comes first. */
  SINK_STUCK_AFTER_ATTEMPTS: env.int(20, 1, 1_000_000),

  /** Kafka group session timeout: how soon a dead sink's partitions move (the broker's minimum is 6 s). */
  SINK_SESSION_TIMEOUT_MS: env.int(10_000, 1000, 600_000),
  SINK_HEARTBEAT_INTERVAL_MS: env.int(1000, 100, 60_000),
  /** How long the group waits for members to re-join during a rebalance. */
  SINK_REBALANCE_TIMEOUT_MS: env.int(20_000, 1000, 600_000),

  /** Prefix of the NATS buckets and subjects of this sink deployment (letters, digits, `_`, `-`). */
  SINK_NATS_PREFIX: z.string().regex(PREFIX_PATTERN, 'letters, digits, _ and - only').default('floodgate'),
  /** Membership entries expire this long after their last heartbeat (bucket-wide TTL). */
  SINK_MEMBER_TTL_MS: env.int(10_000, 1000, 3_600_000),
  /** Heartbeat period: membership, actor state and lag are refreshed this often. */
  SINK_MEMBER_HEARTBEAT_MS: env.int(2000, 100, 600_000),
  /** This process's id in `floodgate status` and `sink ... --process`; default `<host>-<pid>`. */
  SINK_PROCESS_ID: z
    .string()
    .min(1)
    .optional()
    .transform((v) => v ?? `${os.hostname()}-${process.pid}`),

  /** Admin HTTP endpoint (/metrics, /healthz, /readyz). Port 0 picks a free one. */
  SINK_ADMIN_HOST: env.string('127.0.0.1'),
  SINK_ADMIN_PORT: env.int(9091, 0, 65535),
  /**
   * When set, GET /metrics needs `Authorization: Bearer <token>`: the same rule as the gateway's
   * admin port. Required when SINK_ADMIN_HOST is not loopback (the sink refuses to start otherwise).
   */
  FLOODGATE_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),

  /** A drain (SIGTERM, `sink drain`) that takes longer is cut short; nothing uncommitted is lost. */
  SINK_SHUTDOWN_TIMEOUT_MS: env.int(30_000, 100, 600_000),
  /** A partition actor failing more often than this within the window takes the process down. */
  SINK_ACTOR_MAX_RESTARTS: env.int(5, 0, 1000),
  SINK_ACTOR_RESTART_WINDOW_MS: env.int(60_000, 1000, 3_600_000),
}).superRefine((c, ctx) => {
  // An admin port reachable from the network has no open /metrics (docs/security.md, "Network
  // exposure"). The check is kept by supervisorSchema's extend().
  if (!isLoopbackHost(c.SINK_ADMIN_HOST) && !c.FLOODGATE_ADMIN_TOKEN) {
    ctx.addIssue({
      code: 'custom',
      path: ['FLOODGATE_ADMIN_TOKEN'],
      message: `required when SINK_ADMIN_HOST (${c.SINK_ADMIN_HOST}) is not a loopback address: /metrics would be open to the network`,
    });
  }
});

export type SinkConfig = z.infer<typeof sinkSchema>;

/** An `MIN..MAX` range, e.g. `1..4`. */
export const rangeSchema = z
  .string()
  .regex(/^\d+\.\.\d+$/, 'must be MIN..MAX, e.g. 1..4')
  .transform((v) => {
    const [min, max] = v.split('..').map(Number) as [number, number];
    return { min, max };
  })
  .refine((r) => r.min >= 1 && r.max >= r.min && r.max <= 64, 'needs 1 <= MIN <= MAX <= 64');

/** The sink supervisor: a node:cluster primary that runs SINK_PROCESSES sink processes. */
export const supervisorSchema = sinkSchema.extend({
  /** Sink processes to run at start (fixed mode). */
  SINK_PROCESSES: env.int(1, 0, 64),
  /** Set: start in auto mode, scaling between MIN and MAX from consumer lag. */
  SINK_AUTOSCALE: rangeSchema.optional(),
  /** Scale up by one when the group's total lag stayed at or above this... */
  SINK_AUTOSCALE_UP_LAG: env.int(50_000, 1),
  /** ...for this long. */
  SINK_AUTOSCALE_UP_SUSTAIN_MS: env.int(15_000, 0),
  /** Scale down by one when total lag stayed at or below this... */
  SINK_AUTOSCALE_DOWN_LAG: env.int(1000, 0),
  /** ...for this long. */
  SINK_AUTOSCALE_DOWN_SUSTAIN_MS: env.int(60_000, 0),
  /** No scaling decision this soon after the last change (new processes need a rebalance to help). */
  SINK_AUTOSCALE_COOLDOWN_MS: env.int(30_000, 0),
  /** How often lag is measured in auto mode. */
  SINK_AUTOSCALE_INTERVAL_MS: env.int(5000, 100),
  /** A sink process that crashed more often than this within the window is not restarted again. */
  SINK_WORKER_MAX_RESTARTS: env.int(20, 0, 10_000),
  SINK_WORKER_RESTART_WINDOW_MS: env.int(60_000, 1000),
  /** This supervisor's id; default `<host>-sup-<pid>`. */
  SINK_SUPERVISOR_ID: z
    .string()
    .min(1)
    .optional()
    .transform((v) => v ?? `${os.hostname()}-sup-${process.pid}`),
});

export type SupervisorConfig = z.infer<typeof supervisorSchema>;
