import { z } from 'zod';
import { env, stackSchema } from '@floodgate/config';

export const gatewaySchema = stackSchema.extend({
  GATEWAY_HOST: env.string('127.0.0.1'),
  /** 0 picks a free port (tests). */
  GATEWAY_PORT: env.int(8080, 0, 65535),
  INGEST_THREADS: env.int(2, 1, 64),
  /** Largest accepted request body. */
  MAX_BODY_BYTES: env.int(1024 * 1024, 1024, 64 * 1024 * 1024),
  /** Requests per worker task. */
  MICROBATCH_MAX_REQUESTS: env.int(512, 1, 10_000),
  /** Requests in the gateway not yet answered; beyond it new requests get 503. */
  MAX_PENDING_REQUESTS: env.int(20_000, 1, 1_000_000),
  /** A Kafka send not acknowledged in this time fails the request with 503. */
  KAFKA_SEND_TIMEOUT_MS: env.int(5000, 100, 120_000),
  SHUTDOWN_TIMEOUT_MS: env.int(15_000, 100, 600_000),
});

export type GatewayConfig = z.infer<typeof gatewaySchema>;
