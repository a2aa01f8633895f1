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

describe('insertIsolating: a block over the partitions limit', () => {
  type Timed = { offset: number; month: number };
  /** A fake ClickHouse that refuses a block touching more than `limit` months, as code 252 does. */
  function partitionLimited(limit: number) {
    const landed: number[] = [];
    const tokens: string[] = [];
    const insert = async (part: readonly Timed[], token: string): Promise<AttemptResult> => {
      tokens.push(token);
      if (new Set(part.map((r) => r.month)).size > limit) return { ok: false, code: '252 TOO_MANY_PARTS', message: 'Too many partitions for single INSERT block (more than 100)' };
      landed.push(...part.map((r) => r.offset));
      return { ok: true };
    };
    return { insert, landed, tokens };
  }

  it('lands a backfill of 101 months plus 200 current events in 5 inserts, every row once, nothing rejected', async () => {
    const rows: Timed[] = [...Array.from({ length: 101 }, (_, i) => ({ offset: i, month: i })), ...Array.from({ length: 200 }, (_, i) => ({ offset: 101 + i, month: 999 }))];
    const fake = partitionLimited(100);
    const result = await insertIsolating(rows, 'T', fake.insert);
    expect(result.rejected).toEqual([]);
    expect(fake.landed.sort((a, b) => a - b)).toEqual(rows.map((r) => r.offset));
    expect(fake.tokens).toEqual(['T', 'T/0-150', 'T/0-75', 'T/76-150', 'T/151-300']);
  });

  it('lands rows spread over 1,000 months in any order, each once', async () => {
    const rows: Timed[] = Array.from({ length: 5000 }, (_, i) => ({ offset: i, month: (i * 7919) % 1000 }));
    const fake = partitionLimited(100);
    const result = await insertIsolating(rows, 'T', fake.insert);
    expect(result.rejected).toEqual([]);
    expect(new Set(fake.landed).size).toBe(5000);
    expect(fake.landed).toHaveLength(5000);
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
    const mergePushBack = 'Too many parts (600 with average size of 1.00 MiB) in table. Merges are processing significantly slower than inserts';
    for (const [code, type, message] of [['252', 'TOO_MANY_PARTS', mergePushBack], ['159', 'TIMEOUT_EXCEEDED'], ['241', 'MEMORY_LIMIT_EXCEEDED'], ['202', 'TOO_MANY_SIMULTANEOUS_QUERIES']]) {
      expect(classifyInsertError(Object.assign(new Error(message ?? type), { code, type }))).toMatchObject({ kind: 'retry', needsOperator: false });
    }
    expect(classifyInsertError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }))).toEqual({
      kind: 'retry',
      code: 'ECONNREFUSED',
      message: 'connect ECONNREFUSED 127.0.0.1:8123',
      needsOperator: false,
    });
    expect(classifyInsertError(new Error('Timeout error.')).kind).toBe('retry');
  });

  it('retries what needs an operator (a missing table, credentials), and says so', () => {
    for (const [code, type] of [['60', 'UNKNOWN_TABLE'], ['81', 'UNKNOWN_DATABASE'], ['16', 'NO_SUCH_COLUMN_IN_TABLE'], ['516', 'AUTHENTICATION_FAILED'], ['164', 'READONLY']]) {
      expect(classifyInsertError(Object.assign(new Error(type), { code, type }))).toMatchObject({ kind: 'retry', needsOperator: true });
    }
  });

  it('splits a block with more partitions than one insert may touch (252, never passes as it is)', () => {
    // chDB 26.7's text, and the wording of newer servers.
    for (const message of [
      "Too many partitions for single INSERT block (more than 100). The limit is controlled by 'max_partitions_per_insert_block' setting.",
      "Too many partitions for a single INSERT block (101 partitions, limit is 100). The limit is controlled by 'max_partitions_per_insert_block' setting.",
    ]) {
      expect(classifyInsertError(Object.assign(new Error(message), { code: '252', type: 'TOO_MANY_PARTS' }))).toEqual({ kind: 'split', code: '252 TOO_MANY_PARTS', message });
    }
  });
});
