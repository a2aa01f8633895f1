import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiKeyStore, hashApiKey, loadApiKeysFile, parseApiKeysVariable, presentedKey } from '../src/auth.ts';
import { RateLimiter, TokenBucket, retryAfterSeconds } from '../src/rate-limit.ts';

describe('API keys', () => {
  it('maps keys from FLOODGATE_API_KEYS to tenants and refuses unknown ones', () => {
    const store = new ApiKeyStore(parseApiKeysVariable('tenant-a:KEY-AAAA-1111, tenant-b:KEY-BBBB-2222'));
    expect(store.authenticate('KEY-AAAA-1111')?.tenant).toBe('tenant-a');
    expect(store.authenticate('KEY-BBBB-2222')?.tenant).toBe('tenant-b');
    expect(store.authenticate('KEY-AAAA-1112')).toBeUndefined();
    expect(store.authenticate('')).toBeUndefined();
  });

  it('names the bad entry of FLOODGATE_API_KEYS', () => {
    expect(() => parseApiKeysVariable('good:KEY-GOOD-1111,broken')).toThrow('FLOODGATE_API_KEYS: entry 2 must be tenant:key');
    expect(() => parseApiKeysVariable('t:short')).toThrow(/at least 8 characters/);
  });

  it('reads a key file with clear keys or SHA-256 hashes and per-key limits', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keys-'));
    const file = path.join(dir, 'keys.json');
    writeFileSync(
      file,
      JSON.stringify({
        keys: [
          { tenant: 'a', key: 'clear-key-0001', eventsPerSecond: 100 },
          { tenant: 'b', sha256: hashApiKey('hashed-key-0002').toString('hex') },
        ],
      }),
    );
    const store = new ApiKeyStore(loadApiKeysFile(file));
    expect(store.authenticate('clear-key-0001')).toMatchObject({ tenant: 'a', eventsPerSecond: 100, requestsPerSecond: 0 });
    expect(store.authenticate('hashed-key-0002')?.tenant).toBe('b');
    writeFileSync(file, JSON.stringify({ keys: [{ tenant: 'a' }] }));
    expect(() => loadApiKeysFile(file)).toThrow(/give exactly one of key and sha256/);
  });

  it('takes the key from Bearer, then X-API-Key, then the query', () => {
    expect(presentedKey('Bearer abc', 'x', 'q')).toBe('abc');
    expect(presentedKey('bearer  abc ', '', '')).toBe('abc');
    expect(presentedKey('', 'x', 'q')).toBe('x');
    expect(presentedKey('Basic zzz', '', 'q')).toBe('q');
  });
});

describe('rate limits', () => {
  it('a token bucket allows its burst, then tells how long to wait, and refills', () => {
    const bucket = new TokenBucket(10, 10, 0);
    for (let i = 0; i < 10; i++) expect(bucket.take(1, 0)).toBe(0);
    expect(bucket.take(1, 0)).toBeCloseTo(0.1);
    expect(bucket.take(1, 100)).toBe(0);
  });

  it('charges events after the fact and refuses while in debt', () => {
    const limiter = new RateLimiter();
    const limits = { eventsPerSecond: 100, requestsPerSecond: 0 };
    expect(limiter.admit('k', limits, 0)).toBe(0);
    limiter.chargeEvents('k', limits, 150, 0);
    const wait = limiter.admit('k', limits, 0);
    expect(wait).toBeCloseTo(0.51, 2);
    expect(limiter.admit('k', limits, 600)).toBe(0);
    expect(limiter.admit('other', limits, 0)).toBe(0);
  });

  it('limits requests per second per key; 0 means unlimited', () => {
    const limiter = new RateLimiter();
    expect(limiter.admit('k', { eventsPerSecond: 0, requestsPerSecond: 2 }, 0)).toBe(0);
    expect(limiter.admit('k', { eventsPerSecond: 0, requestsPerSecond: 2 }, 0)).toBe(0);
    expect(limiter.admit('k', { eventsPerSecond: 0, requestsPerSecond: 2 }, 0)).toBeGreaterThan(0);
    for (let i = 0; i < 1000; i++) expect(limiter.admit('u', { eventsPerSecond: 0, requestsPerSecond: 0 }, 0)).toBe(0);
  });

  it('Retry-After is whole seconds, at least 1', () => {
    expect(retryAfterSeconds(0.01)).toBe('1');
    expect(retryAfterSeconds(2.2)).toBe('3');
  });
});
