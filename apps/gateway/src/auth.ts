import { hash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FloodgateError } from '@floodgate/errors';

/** One API key: which tenant it is, and its own rate limits (0 = the configured default). */
export interface ApiKey {
  /** Short, non-secret id of the key (a prefix of its hash), for rate limits and logs. */
  id: string;
  tenant: string;
  /** SHA-256 of the key; the key itself is never kept. */
  sha256: Buffer;
  eventsPerSecond: number;
  requestsPerSecond: number;
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Runs on every request: the one-shot `crypto.hash` costs about half of a createHash/update/digest
 * chain (1–2 µs against 2.3–2.8 µs here). The presented key itself is not cached, so the lookup
 * stays keyed by a hash and the comparison constant-time.
 */
export function hashApiKey(key: string): Buffer {
  return hash('sha256', key, 'buffer');
}

function keyEntry(tenant: string, sha256: Buffer, eventsPerSecond: number, requestsPerSecond: number): ApiKey {
  return { id: sha256.toString('hex').slice(0, 12), tenant, sha256, eventsPerSecond, requestsPerSecond };
}

/** `FLOODGATE_API_KEYS=tenant-a:KEY1,tenant-b:KEY2`. */
export function parseApiKeysVariable(spec: string): ApiKey[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((pair, index) => {
      const colon = pair.indexOf(':');
      const tenant = colon > 0 ? pair.slice(0, colon) : '';
      const key = colon > 0 ? pair.slice(colon + 1) : '';
      if (!TENANT.test(tenant) || key.length < 8) {
        throw new FloodgateError('CONFIG_INVALID', `FLOODGATE_API_KEYS: entry ${index + 1} must be tenant:key with a tenant of [A-Za-z0-9._-] and a key of at least 8 characters`);
      }
      return keyEntry(tenant, hashApiKey(key), 0, 0);
    });
}

const keysFileSchema = z.object({
  keys: z.array(
    z
      .object({
        tenant: z.string().regex(TENANT),
        /** The key in clear, or... */
        key: z.string().min(8).optional(),
        /** ...its SHA-256 in hex, so the file holds no secret. */
        sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
        eventsPerSecond: z.number().nonnegative().default(0),
        requestsPerSecond: z.number().nonnegative().default(0),
      })
      .strict()
      .refine((k) => (k.key === undefined) !== (k.sha256 === undefined), 'give exactly one of key and sha256'),
  ),
});

/** `FLOODGATE_API_KEYS_FILE`: `{"keys": [{"tenant", "key" | "sha256", "eventsPerSecond"?, "requestsPerSecond"?}]}`. */
export function loadApiKeysFile(file: string): ApiKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new FloodgateError('CONFIG_FILE_UNREADABLE', `FLOODGATE_API_KEYS_FILE: cannot read ${file} as JSON: ${(cause as Error).message}`, { cause });
  }
  const result = keysFileSchema.safeParse(parsed);
  if (!result.success) {
    const problem = result.error.issues[0]!;
    throw new FloodgateError('CONFIG_INVALID', `FLOODGATE_API_KEYS_FILE (${file}): ${problem.path.join('.')}: ${problem.message}`);
  }
  return result.data.keys.map((k) =>
    keyEntry(k.tenant, k.key !== undefined ? hashApiKey(k.key) : Buffer.from(k.sha256!, 'hex'), k.eventsPerSecond, k.requestsPerSecond),
  );
}

/**
 * Looks keys up by their hash. The lookup leaks nothing about a key (it is keyed by a SHA-256 of
 * what was presented), and the final comparison is constant-time all the same.
 */
const ACCEPTED_CACHE = 1024;

export class ApiKeyStore {
  private readonly byHash = new Map<string, ApiKey>();
  private readonly accepted = new Map<string, ApiKey>();

  constructor(keys: ApiKey[]) {
    for (const key of keys) this.byHash.set(key.sha256.toString('hex'), key);
  }

  get size(): number {
    return this.byHash.size;
  }

  authenticate(presented: string): ApiKey | undefined {
    if (presented.length === 0 || presented.length > 512) return undefined;
    // Keys that already authenticated skip the hash (4–5 % of the event loop under single events,
    // docs/performance.md). Only accepted keys are kept, and at most ACCEPTED_CACHE of them, so
    // random keys neither fill memory nor skip the hash; a Map lookup compares strings only on a
    // hash-bucket match, which a guess cannot steer.
    const cached = this.accepted.get(presented);
    if (cached !== undefined) return cached;
    const hash = hashApiKey(presented);
    const found = this.byHash.get(hash.toString('hex'));
    if (!found || !timingSafeEqual(found.sha256, hash)) return undefined;
    if (this.accepted.size >= ACCEPTED_CACHE) this.accepted.clear();
    this.accepted.set(presented, found);
    return found;
  }
}

/** The key of a request: `Authorization: Bearer <key>`, else `X-API-Key`, else (WebSocket) `?api_key=`. */
export function presentedKey(authorization: string, xApiKey: string, queryKey = ''): string {
  if (authorization.length > 7 && authorization.slice(0, 7).toLowerCase() === 'bearer ') return authorization.slice(7).trim();
  return xApiKey || queryKey;
}
