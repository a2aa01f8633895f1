/** Who may send (API keys, or the unsafe FLOODGATE_AUTH=off) and how fast (per-key rate limits). */
import type { Logger } from '@floodgate/logging';
import { ApiKeyStore, loadApiKeysFile, parseApiKeysVariable, presentedKey, type ApiKey } from './auth.ts';
import { CANARY_TENANT } from './canary.ts';
import { RateLimiter, type RateLimits } from './rate-limit.ts';
import type { GatewayConfig } from './config.ts';

const DEV_TENANT: ApiKey = { id: 'auth-off', tenant: 'default', sha256: Buffer.alloc(32), eventsPerSecond: 0, requestsPerSecond: 0 };

export interface Access {
  /** The key presented in a header (or the WebSocket's `?api_key=`), or undefined: refuse with 401. */
  authenticate(authorization: string, xApiKey: string, queryKey: string): ApiKey | undefined;
  /** This process's share of the key's limits. */
  limitsOf(key: ApiKey): RateLimits;
  limiter: RateLimiter;
}

export function createAccess(config: GatewayConfig, logger: Logger): Access {
  const keys = new ApiKeyStore([
    ...(config.FLOODGATE_API_KEYS ? parseApiKeysVariable(config.FLOODGATE_API_KEYS) : []),
    ...(config.FLOODGATE_API_KEYS_FILE ? loadApiKeysFile(config.FLOODGATE_API_KEYS_FILE) : []),
    // The primary's freshness canary (canary.ts) comes in through the front door like any client.
    ...(config.FLOODGATE_CANARY_KEY ? parseApiKeysVariable(`${CANARY_TENANT}:${config.FLOODGATE_CANARY_KEY}`) : []),
  ]);
  const authOff = config.FLOODGATE_AUTH === 'off';
  if (authOff) logger.warn('FLOODGATE_AUTH=off: requests without a key are accepted as tenant "default" (unsafe)');
  // Limits are per key across the host: each process enforces its share.
  const share = (perSecond: number) => perSecond / config.GATEWAY_PROCESSES;
  return {
    limiter: new RateLimiter(),
    authenticate(authorization, xApiKey, queryKey) {
      const presented = presentedKey(authorization, xApiKey, queryKey);
      if (presented) return keys.authenticate(presented);
      return authOff ? DEV_TENANT : undefined;
    },
    limitsOf: (key) => ({
      eventsPerSecond: share(key.eventsPerSecond || config.RATE_LIMIT_EVENTS_PER_SEC),
      requestsPerSecond: share(key.requestsPerSecond || config.RATE_LIMIT_REQUESTS_PER_SEC),
    }),
  };
}
