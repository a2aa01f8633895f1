/**
 * Server-assigned event ids: UUIDv7 (RFC 9562), time-ordered, laid out exactly as the `uuid`
 * package's v7 (48-bit ms timestamp, a 31-bit counter seeded at random each millisecond and
 * incremented within it, random tail), so ids stay unique and monotonic within a process.
 * The difference is where the randomness comes from: `uuid` asks the OS for 16 bytes per id
 * (a `getRandomValues` call each, ~7 % of an ingest thread's CPU under 100-event batches); here one
 * `randomFillSync` fills a pool for 256 ids.
 */
import { randomFillSync } from 'node:crypto';

const POOL_IDS = 256;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => (i + 0x100).toString(16).slice(1));

/** The process's id source; every event the gateway accepts without an id gets one from it. */
export const newEventId = eventIdSource();

/**
 * A source of ids with its own clock state: ids from one source are strictly increasing, so a
 * test can check the layout at a fixed time without depending on what the process's source has
 * already handed out (or on the wall clock).
 */
export function eventIdSource(): (now?: number) => string {
  const pool = Buffer.allocUnsafeSlow(16 * POOL_IDS);
  let next = POOL_IDS * 16;
  let lastMs = -Infinity;
  let seq = 0;
  return (now = Date.now()) => {
    if (next >= pool.length) {
      randomFillSync(pool);
      next = 0;
    }
    const r = next;
    next += 16;
    if (now > lastMs) {
      // A fresh millisecond: the counter starts at a random 31-bit value (as uuid's v7Sequence).
      seq = ((pool[r + 6]! & 0x7f) << 24) | (pool[r + 7]! << 16) | (pool[r + 8]! << 8) | pool[r + 9]!;
      lastMs = now;
    } else {
      seq = (seq + 1) | 0;
      // The counter wrapped: borrow the next millisecond, as uuid does.
      if (seq === 0) lastMs++;
    }
    const ms = lastMs;
    const b6 = 0x70 | ((seq >>> 28) & 0x0f);
    const b7 = (seq >>> 20) & 0xff;
    const b8 = 0x80 | ((seq >>> 14) & 0x3f);
    const b9 = (seq >>> 6) & 0xff;
    const b10 = ((seq << 2) & 0xff) | (pool[r + 10]! & 0x03);
    return (
      HEX[(ms / 0x10000000000) & 0xff]! +
      HEX[(ms / 0x100000000) & 0xff]! +
      HEX[(ms / 0x1000000) & 0xff]! +
      HEX[(ms / 0x10000) & 0xff]! +
      '-' +
      HEX[(ms / 0x100) & 0xff]! +
      HEX[ms & 0xff]! +
      '-' +
      HEX[b6]! +
      HEX[b7]! +
      '-' +
      HEX[b8]! +
      HEX[b9]! +
      '-' +
      HEX[b10]! +
      HEX[pool[r + 11]!]! +
      HEX[pool[r + 12]!]! +
      HEX[pool[r + 13]!]! +
      HEX[pool[r + 14]!]! +
      HEX[pool[r + 15]!]!
    );
  };
}
