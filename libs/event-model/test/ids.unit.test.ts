import { describe, expect, it } from 'vitest';
import { validate, version } from 'uuid';
import { eventIdSource, newEventId } from '../src/ids.ts';

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

  // A fixed instant in the past and one in the future, each from a source of its own: the
  // process's source has handed out ids at the wall clock already, and would (rightly) keep
  // counting from there instead of going back to a past millisecond.
  it.each([Date.UTC(2020, 0, 1, 0, 0, 0, 123), Date.UTC(2099, 11, 31, 23, 59, 59, 999)])(
    'carry the millisecond in their first 48 bits (%i)',
    (at) => {
      const id = eventIdSource()(at);
      expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
    },
  );

  it('stay increasing when the clock steps back (the counter goes on from the last millisecond)', () => {
    const nextId = eventIdSource();
    const at = Date.UTC(2030, 5, 1);
    const later = nextId(at + 20_000_000);
    const earlier = nextId(at);
    expect(earlier > later).toBe(true);
    expect(parseInt(earlier.replace(/-/g, '').slice(0, 12), 16)).toBe(at + 20_000_000);
  });
});
