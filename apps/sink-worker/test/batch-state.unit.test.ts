import { describe, expect, it } from 'vitest';
import { dedupToken, partToken, planStart, recordProblem, verifyFirstMessage, type BatchRecord } from '../src/batch-state.ts';

const record = (state: 'pending' | 'inserted', first: number, last: number): BatchRecord => ({
  v: 1,
  owner: 'p1/0',
  claimedAt: '2026-01-01T00:00:00.000Z',
  batch: { first, last, firstTimestamp: '1700000000000', rows: last - first + 1, state, at: '2026-01-01T00:00:00.000Z' },
});

describe('planStart: where a new owner of a partition starts', () => {
  it('starts at the committed offset when nothing is recorded', () => {
    expect(planStart(undefined, 42, 0)).toEqual({ kind: 'fresh', from: 42 });
    expect(planStart({ v: 1, owner: 'x', claimedAt: '' }, 42, 0)).toEqual({ kind: 'fresh', from: 42 });
  });

  it('starts at the earliest offset when the group never committed or the commit fell out of retention', () => {
    expect(planStart(undefined, null, 7)).toEqual({ kind: 'fresh', from: 7 });
    expect(planStart(undefined, 3, 7)).toEqual({ kind: 'fresh', from: 7 });
  });

  it('ignores a recorded batch that was committed already', () => {
    expect(planStart(record('inserted', 0, 99), 100, 0)).toEqual({ kind: 'fresh', from: 100 });
    expect(planStart(record('pending', 0, 99), 150, 0)).toEqual({ kind: 'fresh', from: 150 });
  });

  it('re-forms a pending batch (written, maybe inserted, not committed) from its first offset', () => {
    const plan = planStart(record('pending', 100, 199), 100, 0);
    expect(plan).toEqual({ kind: 'reform', from: 100, batch: { first: 100, last: 199, firstTimestamp: '1700000000000', rows: 100 } });
  });

  it('skips an inserted batch that was not committed yet', () => {
    expect(planStart(record('inserted', 100, 199), 100, 0)).toMatchObject({ kind: 'skip', from: 100, batch: { last: 199 } });
  });

  it('reads from what retention left of a recorded batch', () => {
    expect(planStart(record('pending', 100, 199), 100, 150, 400)).toMatchObject({ kind: 'reform', from: 150, batch: { first: 100 } });
  });

  it('a replay (committed offset moved back) does not re-insert: it goes to the recorded batch', () => {
    expect(planStart(record('inserted', 500, 599), 0, 0)).toMatchObject({ kind: 'skip', from: 500 });
    expect(planStart(record('pending', 500, 599), 0, 0)).toMatchObject({ kind: 'reform', from: 500 });
  });
});

describe('planStart after the topic was deleted and re-created', () => {
  it('ignores a committed offset and a record beyond the end of the new log', () => {
    expect(planStart(record('inserted', 300, 399), 400, 0, 50)).toEqual({ kind: 'fresh', from: 0 });
    expect(planStart(record('pending', 300, 399), null, 0, 50)).toEqual({ kind: 'fresh', from: 0 });
  });
  it('keeps a record inside the new log for the first-message check to judge', () => {
    expect(planStart(record('pending', 10, 19), null, 0, 50)).toMatchObject({ kind: 'reform', from: 10 });
  });
});

describe('verifyFirstMessage', () => {
  const batch = { first: 100, last: 199, firstTimestamp: '1700000000000', rows: 100 };
  it('accepts the recorded first message, and a later one when retention removed it', () => {
    expect(verifyFirstMessage(batch, 100, '1700000000000')).toBe('valid');
    expect(verifyFirstMessage(batch, 150, '1800000000000')).toBe('valid');
  });
  it('calls the record stale when the log restarted below it or the message differs', () => {
    expect(verifyFirstMessage(batch, 0, '1800000000000')).toBe('stale');
    expect(verifyFirstMessage(batch, 100, '1800000000000')).toBe('stale');
  });
});

describe('recordProblem: a recorded batch no sink writes is refused before anything is read', () => {
  const batch = (overrides: Record<string, unknown>) => ({ ...record('inserted', 100, 199).batch!, ...overrides }) as BatchRecord['batch'];
  it('accepts what a sink writes: no batch, a batch at the committed offset, one committed already, one past it', () => {
    expect(recordProblem(undefined, 100, 0, 500)).toBeUndefined();
    expect(recordProblem(batch({}), 100, 0, 500)).toBeUndefined();
    expect(recordProblem(batch({}), 200, 0, 500)).toBeUndefined();
    expect(recordProblem(batch({}), 50, 0, 500)).toBeUndefined();
    expect(recordProblem(batch({ rows: 1 }), null, 0, 500)).toBeUndefined();
  });
  it('refuses a batch that straddles the committed offset (it would skip what lies between)', () => {
    expect(recordProblem(batch({}), 150, 0, 500)).toMatch(/straddle the committed offset 150/);
    expect(recordProblem(batch({}), 199, 0, 500)).toMatch(/straddle/);
  });
  it('refuses malformed ranges, row counts, timestamps and states', () => {
    expect(recordProblem(batch({ last: 99 }), 100, 0, 500)).toMatch(/no range/);
    expect(recordProblem(batch({ first: -1 }), 100, 0, 500)).toMatch(/no range/);
    expect(recordProblem(batch({ first: '100' }), 100, 0, 500)).toMatch(/no range/);
    expect(recordProblem(batch({ rows: 101 }), 100, 0, 500)).toMatch(/101 rows do not fit/);
    expect(recordProblem(batch({ rows: 0 }), 100, 0, 500)).toMatch(/0 rows do not fit/);
    expect(recordProblem(batch({ firstTimestamp: 'soon' }), 100, 0, 500)).toMatch(/no Kafka timestamp/);
    expect(recordProblem(batch({ state: 'done' }), 100, 0, 500)).toMatch(/unknown/);
  });
});

describe('deduplication tokens', () => {
  it('are a pure function of topic, partition and range', () => {
    const batch = { first: 10, last: 19, firstTimestamp: '1700000000000' };
    expect(dedupToken('events', 3, batch)).toBe('events:3:10-19:1700000000000');
    expect(dedupToken('events', 3, { ...batch })).toBe(dedupToken('events', 3, batch));
    expect(dedupToken('events', 4, batch)).not.toBe(dedupToken('events', 3, batch));
    expect(partToken('events:3:10-19:1700000000000', 10, 14)).toBe('events:3:10-19:1700000000000/10-14');
  });
});
