import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@floodgate/logging';
import { FloodgateError } from '@floodgate/errors';

export type { NatsConnection };

export interface NatsConnectOptions {
  /** One URL or several, comma-separated. */
  url: string;
  /** Shown by the server (`/connz`): which process this is. */
  name: string;
  logger: Logger;
  /** How long the first connect may take. Default 5 s. */
  timeoutMs?: number;
}

/**
 * Connects with reconnects forever (a NATS restart must not take a sink down: membership and
 * control pause, batch state writes retry) and logs connection state changes.
 */
export async function connectNats(options: NatsConnectOptions): Promise<NatsConnection> {
  const servers = options.url.split(',').map((s) => s.trim()).filter(Boolean);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: options.name,
      timeout: options.timeoutMs ?? 5000,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
  } catch (cause) {
    throw new FloodgateError('NATS_UNAVAILABLE', `cannot connect to NATS at ${options.url}: ${(cause as Error).message}`, {
      cause,
      retriable: true,
    });
  }
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnecting') {
        options.logger.debug({ nats: status.type }, 'nats connection state');
      } else if (status.type === 'reconnect') {
        options.logger.info({ nats: status.type }, 'nats reconnected');
      } else if (status.type === 'close') {
        options.logger.debug({ nats: status.type }, 'nats connection closed');
      } else if (status.type === 'error') {
        options.logger.warn({ nats: status.type, error: 'error' in status ? String(status.error) : undefined }, 'nats connection state');
      }
    }
  })().catch(() => {});
  return nc;
}
