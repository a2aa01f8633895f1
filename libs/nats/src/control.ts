import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from '@floodgate/logging';
import { FloodgateError, isFloodgateError } from '@floodgate/errors';

/** The body of every control reply. */
export type ControlReply<T = unknown> = { ok: true; result: T } | { ok: false; error: { code: string; message: string } };

/**
 * Answers JSON requests on `subject` with `handler`'s result, as `{ok: true, result}`, or
 * `{ok: false, error: {code, message}}` when it throws. Requests are handled as they come.
 */
export function serveRequests(
  nc: NatsConnection,
  subject: string,
  handler: (request: unknown) => Promise<unknown>,
  logger: Logger,
): Subscription {
  return nc.subscribe(subject, {
    callback: (error, message) => {
      if (error) {
        logger.warn({ err: error, subject }, 'control subscription error');
        return;
      }
      void (async () => {
        let reply: ControlReply;
        try {
          const request: unknown = message.data.length > 0 ? message.json() : {};
          reply = { ok: true, result: await handler(request) };
        } catch (thrown) {
          const code = isFloodgateError(thrown) ? thrown.code : 'INTERNAL';
          reply = { ok: false, error: { code, message: (thrown as Error)?.message ?? String(thrown) } };
          logger.warn({ err: thrown, subject }, 'control request failed');
        }
        if (message.reply) message.respond(JSON.stringify(reply));
      })();
    },
  });
}

/** Sends one JSON request and returns the handler's result, or throws its error as a FloodgateError. */
export async function requestJson<T>(nc: NatsConnection, subject: string, body: unknown, timeoutMs: number): Promise<T> {
  let reply: ControlReply<T>;
  try {
    const message = await nc.request(subject, JSON.stringify(body), { timeout: timeoutMs });
    reply = message.json<ControlReply<T>>();
  } catch (cause) {
    throw new FloodgateError('CONTROL_NO_REPLY', `no reply on ${subject} within ${timeoutMs} ms: ${(cause as Error).message}`, {
      cause,
      retriable: true,
      context: { subject },
    });
  }
  if (!reply.ok) {
    throw new FloodgateError('CONTROL_FAILED', `${subject}: ${reply.error.code}: ${reply.error.message}`, { context: { subject, code: reply.error.code } });
  }
  return reply.result;
}
