import { describe, expect, it } from 'vitest';
import { insertIsolating, splitAt, type AttemptResult } from '../src/isolate.ts';
import { classifyInsertError } from '../src/clickhouse-errors.ts';

type Row = { offset: number; poison?: boolean };
const rows = (n: number, poison: number[] = []): Row[] => Array.from({ length: n }, (_, i) => ({ offset: 1000 + i, poison: poison.includes(i) }));

/** A fake ClickHouse: rejects any insert holding a poison row, naming it (or not). */
function fakeInsert(named: boolean) {
  const landed: number[] = [];
  const tokens: string[] = [];
  const insert = async (part: readonly Row[], token: string): Promise<AttemptResult> => {
    tokens.push(token);
    const bad = part.findIndex((r) => r.poison);
    if (bad === -1) {
      landed.push(...part.map((r) => r.offset));
      return { ok: true };
    }
    return { ok: false, code: '41 CANNOT_PARSE_DATETIME', message: 'bad time', ...(named ? { rowHint: bad + 1 } : {}) };
  };
  return { insert, landed, tokens };
}

describe('insertIsolating', () => {
  it('one insert when nothing is rejected', async () => {
    const fake = fakeInsert(true);
    const result = await insertIsolating(rows(1000), 'T', fake.insert);
    expect(result).toEqual({ rejected: [], inserts: 1 });
    expect(fake.landed).toHaveLength(1000);
  });

  it('isolates one poison row among 1,000 in 4 inserts when ClickHouse names the row', async () => {
    const fake = fakeInsert(true);
    const result = await insertIsolating(rows(1001, [517]), 'T', fake.insert);
    expect(result.rejected.map((r) => r.row.offset)).toEqual([1517]);
    expect(result.rejected[0]).toMatchObject({ code: '41 CANNOT_PARSE_DATETIME', reason: 'bad time' });
    expect(result.inserts).toBe(4);
    expect(fake.landed.sort()).toEqual(rows(1001).map((r) => r.offset).filter((o) => o !== 1517));
  });

  it('isolates several poison rows by halving when the row is not named, and lands the rest exactly once', async () => {
    const fake = fakeInsert(false);
    const result = await insertIsolating(rows(1000, [0, 333, 334, 999]), 'T', fake.insert);
    expect(result.rejected.map((r) => r.row.offset).sort()).toEqual([1000, 1333, 1334, 1999]);
    expect(new Set(fake.landed).size).toBe(996);
    expect(fake.landed).toHaveLength(996);
    expect(result.inserts).toBeLessThan(100);
  });

  it('splits deterministically: a second run makes exactly the same inserts with the same tokens', async () => {
    const a = fakeInsert(false);
    const b = fakeInsert(false);
    await insertIsolating(rows(300, [7, 200]), 'events:0:1000-1299:1', a.insert);
    await insertIsolating(rows(300, [7, 200]), 'events:0:1000-1299:1', b.insert);
    expect(b.tokens).toEqual(a.tokens);
    expect(new Set(a.tokens).size).toBe(a.tokens.length);
    expect(a.tokens[0]).toBe('events:0:1000-1299:1');
    expect(a.tokens[1]).toBe('events:0:1000-1299:1/1000-1149');
  });

  it('a wrong row hint costs inserts, not rows', async () => {
    const landed: number[] = [];
    const insert = async (part: readonly Row[]): Promise<AttemptResult> => {
      if (part.some((r) => r.poison)) return { ok: false, code: '27', message: 'x', rowHint: 1 };
      landed.push(...part.map((r) => r.offset));
      return { ok: true };
    };
    const result = await insertIsolating(rows(64, [40]), 'T', insert);
    expect(result.rejected.map((r) => r.row.offset)).toEqual([1040]);
    expect(landed).toHaveLength(63);
  });
});

describe('splitAt', () => {
  it('splits around the named row, else in halves', () => {
    expect(splitAt([1, 2, 3, 4, 5], 3)).toEqual([[1, 2], [3], [4, 5]]);
    expect(splitAt([1, 2, 3, 4, 5], 1)).toEqual([[1], [2, 3, 4, 5]]);
    expect(splitAt([1, 2, 3, 4, 5], 99)).toEqual([[1, 2, 3], [4, 5]]);
    expect(splitAt([1, 2, 3, 4, 5])).toEqual([[1, 2, 3], [4, 5]]);
  });
});

describe('classifyInsertError', () => {
  it('rejects data errors with the row ClickHouse named', () => {
    const error = Object.assign(new Error('Cannot read DateTime: unexpected word: (at row 2)\n: While executing'), { code: '41', type: 'CANNOT_PARSE_DATETIME' });
    expect(classifyInsertError(error)).toEqual({ kind: 'reject', code: '41 CANNOT_PARSE_DATETIME', message: error.message, rowHint: 2 });
    const constraint = Object.assign(new Error('Constraint `id_present` ... is violated at row 7. Expression: (id != \'\')'), { code: '469', type: 'VIOLATED_CONSTRAINT' });
    expect(classifyInsertError(constraint)).toMatchObject({ kind: 'reject', rowHint: 7 });
  });

  it('retries server trouble, push-back, timeouts and network errors', () => {
    for (const [code, type] of [['252', 'TOO_MANY_PARTS'], ['159', 'TIMEOUT_EXCEEDED'], ['241', 'MEMORY_LIMIT_EXCEEDED'], ['202', 'TOO_MANY_SIMULTANEOUS_QUERIES'], ['60', 'UNKNOWN_TABLE'], ['81', 'UNKNOWN_DATABASE']]) {
      expect(classifyInsertError(Object.assign(new Error(type), { code, type })).kind).toBe('retry');
    }
    expect(classifyInsertError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }))).toEqual({
      kind: 'retry',
      code: 'ECONNREFUSED',
      message: 'connect ECONNREFUSED 127.0.0.1:8123',
    });
    expect(classifyInsertError(new Error('Timeout error.')).kind).toBe('retry');
  });
});
