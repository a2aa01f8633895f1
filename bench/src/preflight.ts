import { request } from 'undici';
import { FloodgateError } from '@floodgate/errors';

/** A content type the gateway refuses (415) after the key check: the probe never produces an event. */
const PROBE_CONTENT_TYPE = 'application/x-floodgate-bench-preflight';

/**
 * Asks the gateway whether it takes the run's API key before any load is sent: the gateway checks
 * the key before the content type, so an empty POST with an unsupported content type answers 401
 * for a missing or unknown key and 415 otherwise, and nothing reaches Kafka either way. A gateway
 * that does not answer is said and left to the run (its requests fail and the verdict says so).
 */
export async function checkApiKey(url: string, apiKey: string | undefined, timeoutMs: number, say: (line: string) => void): Promise<void> {
  const target = new URL(url);
  target.protocol = target.protocol === 'wss:' ? 'https:' : target.protocol === 'ws:' ? 'http:' : target.protocol;
  target.pathname = '/v1/events';
  target.search = '';
  const headers: Record<string, string> = { 'content-type': PROBE_CONTENT_TYPE };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  let status: number;
  try {
    const response = await request(target, { method: 'POST', headers, body: '', headersTimeout: Math.min(timeoutMs, 10_000), bodyTimeout: Math.min(timeoutMs, 10_000) });
    await response.body.text();
    status = response.statusCode;
  } catch (error) {
    say(`bench: the gateway at ${target.origin} did not answer a preflight request (${(error as Error).message}); running anyway`);
    return;
  }
  if (status !== 401) return;
  if (!apiKey) {
    throw new FloodgateError(
      'UNAUTHORIZED',
      `no API key: the gateway at ${target.origin} requires one and the run would only collect 401s; pass --api-key <key> or set FLOODGATE_API_KEY (floodgate start's development key is in $FLOODGATE_HOME/dev-api-key)`,
    );
  }
  throw new FloodgateError('UNAUTHORIZED', `the gateway at ${target.origin} refused the API key (401); check --api-key / FLOODGATE_API_KEY`);
}
