import { describe, expect, it } from 'vitest';
import { DEFAULT_EVENT_LIMITS, jsonDepth, parseEvents, partitionKeyOf, type ParseContext } from '@floodgate/event-model';

const RECEIVED = Date.parse('2026-11-23T10:00:00.000Z');
const ctx: ParseContext = { tenant: 'tenant-a', receivedAtMs: RECEIVED, limits: DEFAULT_EVENT_LIMITS };

describe('parseEvents: native JSON', () => {
  it('assigns a UUIDv7 id and the receive time when the client gives none', () => {
    const result = parseEvents('{"type":"signup","data":{"plan":"pro"}}', 'json', ctx);
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
    expect(JSON.parse(result.values[0]!)).toEqual(event);
  });

  it('keeps the client id and accepts epoch-millisecond and ISO times', () => {
    const result = parseEvents('[{"type":"a","id":"client-1","time":1700000000123},{"type":"b","time":"2026-01-02T03:04:05+02:00"}]', 'json', ctx);
    expect(result.ok && result.events.map((e) => [e.id === 'client-1' ? e.id : 'gen', e.time])).toEqual([
      ['client-1', '2023-11-14T22:13:20.123Z'],
      ['gen', '2026-01-02T01:04:05.000Z'],
    ]);
  });

  it('rejects the whole batch and names every bad index and field', () => {
    const result = parseEvents('[{"type":"ok"},{"data":{}},"text",{"type":"x","time":"yesterday","data":[1]},{"type":"y","extra":1}]', 'json', ctx);
    expect(result).toEqual({
      ok: false,
      code: 'EVENT_INVALID',
      message: '5 problem(s) in the request; nothing was accepted',
      details: [
        { index: 1, field: 'type', message: 'is required' },
        { index: 2, field: '', message: 'an event must be a JSON object' },
        { index: 3, field: 'data', message: 'must be object' },
        { index: 3, field: 'time', message: 'must be an ISO-8601 date-time or epoch milliseconds between 1970 and 9999' },
        { index: 4, field: 'extra', message: 'is not a field of an event (allowed: type, id, time, source, subject, data)' },
      ],
    });
  });

  it('rejects malformed JSON, an empty array, too many events and too large events', () => {
    expect(parseEvents('{"type":', 'json', ctx)).toMatchObject({ ok: false, code: 'BODY_MALFORMED_JSON' });
    expect(parseEvents('[]', 'json', ctx)).toMatchObject({ ok: false, code: 'EVENT_INVALID' });
    const limits = { ...DEFAULT_EVENT_LIMITS, maxEventsPerRequest: 2, maxEventBytes: 300 };
    expect(parseEvents('[{"type":"a"},{"type":"a"},{"type":"a"}]', 'json', { ...ctx, limits })).toMatchObject({
      ok: false,
      code: 'TOO_MANY_EVENTS',
      message: 'the request holds 3 events; at most 2 are allowed',
    });
    const big = JSON.stringify([{ type: 'a' }, { type: 'b', data: { s: 'x'.repeat(400) } }]);
    expect(parseEvents(big, 'json', { ...ctx, limits })).toMatchObject({ ok: false, code: 'EVENT_TOO_LARGE', details: [{ index: 1 }] });
  });

  it('refuses bodies nested deeper than the limit before parsing them', () => {
    const limits = { ...DEFAULT_EVENT_LIMITS, maxDepth: 4 };
    expect(parseEvents('[{"type":"a","data":{"b":{"c":1}}}]', 'json', { ...ctx, limits }).ok).toBe(true);
    expect(parseEvents('[{"type":"a","data":{"b":{"c":[1]}}}]', 'json', { ...ctx, limits })).toMatchObject({ ok: false, code: 'BODY_TOO_DEEP' });
  });
});

describe('parseEvents: NDJSON and CloudEvents', () => {
  it('reads NDJSON line by line, skipping blank lines, and names a bad line', () => {
    const ok = parseEvents('{"type":"a"}\r\n\n{"type":"b"}\n', 'ndjson', ctx);
    expect(ok.ok && ok.events.map((e) => e.type)).toEqual(['a', 'b']);
    expect(parseEvents('{"type":"a"}\n{oops}\n', 'ndjson', ctx)).toMatchObject({ ok: false, code: 'BODY_MALFORMED_JSON', details: { line: 2 } });
  });

  it('maps a structured CloudEvent and keeps its other attributes under data.cloudevents', () => {
    const result = parseEvents(
      JSON.stringify({ specversion: '1.0', id: 'ce-1', source: '/app', type: 'com.example.signup', subject: 'u-1', time: '2026-01-01T00:00:00Z', datacontenttype: 'application/json', data: { a: 1 }, partitionkey: 'p' }),
      'cloudevents',
      ctx,
    );
    expect(result.ok && result.events[0]).toEqual({
      id: 'ce-1',
      tenant: 'tenant-a',
      type: 'com.example.signup',
      source: '/app',
      subject: 'u-1',
      time: '2026-01-01T00:00:00.000Z',
      received_at: '2026-11-23T10:00:00.000Z',
      data: { a: 1, cloudevents: { datacontenttype: 'application/json', partitionkey: 'p' } },
    });
  });

  it('rejects a CloudEvent without its required attributes, and a batch that is not an array', () => {
    expect(parseEvents('[{"specversion":"1.0","source":"/s","type":"t"}]', 'cloudevents-batch', ctx)).toMatchObject({
      ok: false,
      details: [{ index: 0, field: 'id', message: 'is required' }],
    });
    expect(parseEvents('{"specversion":"0.3","id":"1","source":"/s","type":"t"}', 'cloudevents', ctx)).toMatchObject({ ok: false, code: 'EVENT_INVALID' });
    expect(parseEvents('{"specversion":"1.0","id":"1","source":"/s","type":"t"}', 'cloudevents-batch', ctx)).toMatchObject({
      ok: false,
      message: 'a CloudEvents batch must be a JSON array',
    });
  });
});

describe('jsonDepth', () => {
  it('ignores brackets inside strings and escaped quotes', () => {
    expect(jsonDepth('{"a":"[[[{{{\\"[[["}', 100)).toBe(1);
    expect(jsonDepth('[[[]]]', 100)).toBe(3);
  });
});

describe('partitionKeyOf', () => {
  it('keys by tenant and subject, falling back to the id', () => {
    const base = { tenant: 't', type: 'x', source: '', time: '', received_at: '', data: {} };
    expect(partitionKeyOf({ ...base, id: 'i1', subject: 'user-7' })).toBe('t/user-7');
    expect(partitionKeyOf({ ...base, id: 'i1', subject: '' })).toBe('t/i1');
  });
});
