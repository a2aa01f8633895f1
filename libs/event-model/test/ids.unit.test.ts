import { describe, expect, it } from 'vitest';
import { validate, version } from 'uuid';
import { newEventId } from '../src/ids.ts';

describe('server-assigned event ids', () => {
  it('are valid UUIDv7, unique and strictly increasing within a process, across pool refills', () => {
    const ids = Array.from({ length: 5000 }, () => newEventId());
    for (const id of ids.slice(0, 50)) {
      expect(validate(id)).toBe(true);
      expect(version(id)).toBe(7);
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
  });

  it('carry the millisecond in their first 48 bits', () => {
    const now = Date.UTC(2026, 11, 2, 17, 0, 0, 123);
    const id = newEventId(now + 10_000_000);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(now + 10_000_000);
  });

  it('stay increasing when the clock steps back (the counter goes on from the last millisecond)', () => {
    const later = newEventId(Date.now() + 20_000_000);
    const earlier = newEventId(Date.now());
    expect(earlier > later).toBe(true);
  });
});
