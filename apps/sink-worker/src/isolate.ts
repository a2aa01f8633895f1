import { partToken } from './batch-state.ts';

/** What one insert attempt of some rows ended in; retriable failures are retried inside `insert`, a failure here splits the rows. */
export type AttemptResult = { ok: true } | { ok: false; code: string; message: string; rowHint?: number };

export interface Rejected<R> {
  row: R;
  code: string;
  reason: string;
}

export interface IsolationResult<R> {
  rejected: Rejected<R>[];
  /** Insert requests made, the first included. */
  inserts: number;
}

/**
 * Inserts `rows` under `token`; if ClickHouse rejects the data, splits the batch and inserts the
 * parts, until every rejected row stands alone and is returned (to be dead-lettered) and every
 * other row landed. A block ClickHouse can never take whole but can take in parts (more month
 * partitions than `max_partitions_per_insert_block`) is split the same way, and its parts land. Splits are deterministic (at the row ClickHouse named, else in halves) and each
 * part's token derives from the batch token and the part's offsets, so a new owner re-forming the
 * batch after a crash repeats exactly the same inserts and ClickHouse drops the ones already done.
 */
export async function insertIsolating<R extends { offset: number }>(
  rows: readonly R[],
  token: string,
  insert: (rows: readonly R[], token: string) => Promise<AttemptResult>,
): Promise<IsolationResult<R>> {
  const result: IsolationResult<R> = { rejected: [], inserts: 0 };
  const go = async (part: readonly R[], partTokenValue: string): Promise<void> => {
    result.inserts++;
    const outcome = await insert(part, partTokenValue);
    if (outcome.ok) return;
    if (part.length === 1) {
      result.rejected.push({ row: part[0]!, code: outcome.code, reason: outcome.message });
      return;
    }
    for (const piece of splitAt(part, outcome.rowHint)) {
      await go(piece, partToken(token, piece[0]!.offset, piece[piece.length - 1]!.offset));
    }
  };
  await go(rows, token);
  return result;
}

/** The parts a rejected batch is split into: around the named row (1-based) if any, else halves. */
export function splitAt<R>(rows: readonly R[], rowHint?: number): R[][] {
  if (rowHint !== undefined && Number.isInteger(rowHint) && rowHint >= 1 && rowHint <= rows.length && rows.length > 1) {
    const i = rowHint - 1;
    return [rows.slice(0, i), rows.slice(i, i + 1), rows.slice(i + 1)].filter((p) => p.length > 0);
  }
  const mid = Math.ceil(rows.length / 2);
  return [rows.slice(0, mid), rows.slice(mid)].filter((p) => p.length > 0);
}
