import { describe, expect, it } from 'vitest';
import { normaliseEvents, partitionKeyOf } from '@floodgate/event-model';

const RECEIVED = Date.parse('2026-11-23T10:00:00.000Z');

describe('normaliseEvents', () => {
  it('assigns a UUIDv7 id and the receive time when the client gives none', () => {
    const result = normaliseEvents({ type: 'signup', data: { plan: 'pro' } }, 'tenant-a', RECEIVED);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [event] = result.events;
    expect(event?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(event).toMatchObject({
      tenant: 'tenant-a',
      type: 'signup',
      time: '2026-11-23T10:00:00.000Z',
      received_at: '2026-11-23T10:00:00.000Z',
      data: { plan: 'pro' },
      source: '',
      subject: '',
    });
  });

  it('keeps the client id and accepts epoch-millisecond and ISO times', () => {
    const result = normaliseEvents(
      [
        { type: 'a', id: 'client-1', time: 1_700_000_000_123 },
        { type: 'b', time: '2026-01-02T03:04:05+02:00' },
      ],
      't',
      RECEIVED,
    );
    expect(result.ok && result.events.map((e) => [e.id === 'client-1' ? e.id : 'gen', e.time])).toEqual([
      ['client-1', '2023-11-14T22:13:20.123Z'],
      ['gen', '2026-01-02T01:04:05.000Z'],
    ]);
  });

  it('rejects the whole batch and names every bad index and field', () => {
    const result = normaliseEvents(
      [{ type: 'ok' }, { data: {} }, 'text', { type: 'x', time: 'yesterday', data: [1] }],
      't',
      RECEIVED,
    );
    expect(result).toEqual({
      ok: false,
      problems: [
        { index: 1, field: 'type', message: 'is required: a non-empty string of at most 256 characters' },
        { index: 2, field: '', message: 'an event must be a JSON object' },
        { index: 3, field: 'time', message: 'must be an ISO-8601 date-time or epoch milliseconds' },
        { index: 3, field: 'data', message: 'must be a JSON object' },
      ],
    });
  });

  it('rejects an empty array', () => {
    expect(normaliseEvents([], 't', RECEIVED).ok).toBe(false);
  });
});

describe('partitionKeyOf', () => {
  it('keys by tenant and subject, falling back to the id', () => {
    const base = { tenant: 't', type: 'x', source: '', time: '', received_at: '', data: {} };
    expect(partitionKeyOf({ ...base, id: 'i1', subject: 'user-7' })).toBe('t/user-7');
    expect(partitionKeyOf({ ...base, id: 'i1', subject: '' })).toBe('t/i1');
  });
});
