import { z } from 'zod';
import { env, stackSchema } from '@floodgate/config';

export const sinkSchema = stackSchema.extend({
  SINK_GROUP_ID: env.string('floodgate-sink'),
  /** The events table the sink writes, inside CLICKHOUSE_DATABASE. */
  SINK_TABLE: env.string('events'),
  /** Longest wait of a fetch for new events; bounds the accept-to-insert delay at low rates. */
  SINK_FETCH_MAX_WAIT_MS: env.int(100, 10, 10_000),
  SINK_FETCH_MAX_BYTES_PER_PARTITION: env.int(4 * 1024 * 1024, 1024, 256 * 1024 * 1024),
});

export type SinkConfig = z.infer<typeof sinkSchema>;
