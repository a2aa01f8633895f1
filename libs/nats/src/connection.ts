import { readFileSync } from 'node:fs';
import { AuthorizationError, connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@floodgate/logging';
import { natsAuth, type NatsAuth, type NatsSettings } from '@floodgate/config';
import { FloodgateError } from '@floodgate/errors';

export type { NatsConnection, NatsSettings };

export interface NatsConnectOptions {
  /**
   * Where and how to connect: NATS_URL (one URL or several, comma-separated; may carry credentials)
   * and NATS_USER/NATS_PASSWORD, NATS_TOKEN or NATS_CREDS_FILE. Pass the app's loaded config.
   */
  config: NatsSettings;
  /** Shown by the server (`/connz`): which process this is. */
  name: string;
  logger: Logger;
  /** How long the first connect may take. Default 5 s. */
  timeoutMs?: number;
}

/** What to set, for messages: the ways this configuration could authenticate. */
const WHAT_TO_SET =
  'set NATS_USER and NATS_PASSWORD, NATS_TOKEN, NATS_CREDS_FILE or credentials in NATS_URL (nats://user:password@host:4222); ' +
  'for the local stack, run with the FLOODGATE_HOME whose `floodgate stack up` generated credentials.json';

function describeAuth(auth: NatsAuth): string {
  if (auth.kind === 'none') return 'no credentials';
  if (auth.kind === 'creds') return `the creds file ${auth.file} (NATS_CREDS_FILE)`;
  if (auth.kind === 'token') return `a token (${auth.source})`;
  return `user "${auth.user}" (${auth.source})`;
}

/**
 * The one place that turns configuration into nats.js connect options: the servers of NATS_URL
 * without their credentials, and the credentials in the form nats.js wants (nats.js itself does not
 * read user info out of a server URL). Every NATS connection of floodgate is built here.
 * Throws CONFIG_INVALID for conflicting or unreadable credentials.
 */
export function natsConnectOptions(config: NatsSettings, extra: Omit<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token' | 'authenticator'> = {}): ConnectionOptions {
  const auth = natsAuth(config);
  const servers = config.NATS_URL.split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => s.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@]*@/i, '$1'));
  const options: ConnectionOptions = { ...extra, servers };
  if (auth.kind === 'user') {
    options.user = auth.user;
    options.pass = auth.password;
  } else if (auth.kind === 'token') {
    options.token = auth.token;
  } else if (auth.kind === 'creds') {
    let creds: Uint8Array;
    try {
      creds = readFileSync(auth.file);
    } catch (cause) {
      throw new FloodgateError('CONFIG_INVALID', `NATS_CREDS_FILE: cannot read ${auth.file}: ${(cause as Error).message}`, { cause });
    }
    options.authenticator = credsAuthenticator(creds);
  }
  return options;
}

/** True for the errors a NATS server answers when it refuses the credentials (or their absence). */
export function isNatsAuthError(error: unknown): boolean {
  if (error instanceof AuthorizationError) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /authorization violation|authentication (timeout|expired)|user authentication/i.test(message);
}

/**
 * Turns a failed first connect into the FloodgateError callers report: NATS_AUTH_FAILED (not
 * retriable: the same credentials fail again) naming what was sent and what to set, else
 * NATS_UNAVAILABLE (retriable).
 */
export function natsConnectError(config: NatsSettings, cause: unknown): FloodgateError {
  const where = config.NATS_URL.replace(/\/\/[^/@,]*@/g, '//');
  if (isNatsAuthError(cause)) {
    const auth = natsAuth(config);
    return new FloodgateError('NATS_AUTH_FAILED', `NATS at ${where} refused ${describeAuth(auth)}: ${(cause as Error).message}; ${WHAT_TO_SET}`, {
      cause,
      retriable: false,
      context: { auth: auth.kind },
    });
  }
  return new FloodgateError('NATS_UNAVAILABLE', `cannot connect to NATS at ${where}: ${(cause as Error).message}`, { cause, retriable: true });
}

/**
 * Connects with reconnects forever (a NATS restart must not take a sink down: membership and
 * control pause, batch state writes retry) and logs connection state changes.
 */
export async function connectNats(options: NatsConnectOptions): Promise<NatsConnection> {
  const connectOptions = natsConnectOptions(options.config, {
    name: options.name,
    timeout: options.timeoutMs ?? 5000,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  let nc: NatsConnection;
  try {
    nc = await connect(connectOptions);
  } catch (cause) {
    throw natsConnectError(options.config, cause);
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
