/**
 * A token bucket: `rate` tokens a second, holding at most `burst`. Events are charged after the
 * workers counted them, so a bucket may go into debt by one request's events; while in debt, the
 * key's requests are refused until the debt is paid back.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now = performance.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    const elapsed = (now - this.last) / 1000;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + elapsed * this.rate);
      this.last = now;
    }
  }

  /** Takes `n` tokens if there are enough: 0 = allowed, else the seconds to wait. */
  take(n: number, now = performance.now()): number {
    this.refill(now);
    if (this.tokens >= n) {
      this.tokens -= n;
      return 0;
    }
    return (n - this.tokens) / this.rate;
  }

  /** Seconds until the bucket is out of debt (0 when it has any token). */
  waitSeconds(now = performance.now()): number {
    this.refill(now);
    return this.tokens > 0 ? 0 : (1 - this.tokens) / this.rate;
  }

  /** Charges `n` tokens unconditionally (may go into debt). */
  charge(n: number, now = performance.now()): void {
    this.refill(now);
    this.tokens -= n;
  }
}

export interface RateLimits {
  eventsPerSecond: number;
  requestsPerSecond: number;
}

/** Per-key buckets for requests and events; a limit of 0 means unlimited. */
export class RateLimiter {
  private readonly requests = new Map<string, TokenBucket>();
  private readonly events = new Map<string, TokenBucket>();

  /** Seconds to wait before this keyId may send again; 0 = go ahead (and one request is taken). */
  admit(keyId: string, limits: RateLimits, now = performance.now()): number {
    if (limits.eventsPerSecond > 0) {
      const wait = this.bucket(this.events, keyId, limits.eventsPerSecond, now).waitSeconds(now);
      if (wait > 0) return wait;
    }
    if (limits.requestsPerSecond > 0) return this.bucket(this.requests, keyId, limits.requestsPerSecond, now).take(1, now);
    return 0;
  }

  /** Charges the events a request got accepted. */
  chargeEvents(keyId: string, limits: RateLimits, events: number, now = performance.now()): void {
    if (limits.eventsPerSecond > 0 && events > 0) this.bucket(this.events, keyId, limits.eventsPerSecond, now).charge(events, now);
  }

  private bucket(map: Map<string, TokenBucket>, keyId: string, rate: number, now: number): TokenBucket {
    let bucket = map.get(keyId);
    if (!bucket) {
      // One second's worth of burst.
      bucket = new TokenBucket(rate, Math.max(1, rate), now);
      map.set(keyId, bucket);
    }
    return bucket;
  }
}

/** Retry-After in whole seconds, at least 1. */
export function retryAfterSeconds(seconds: number): string {
  return String(Math.max(1, Math.ceil(seconds)));
}
