/** When a partition's buffer becomes a batch. Pure; unit-tested. */
export interface FlushLimits {
  maxRows: number;
  maxBytes: number;
  maxAgeMs: number;
}

export interface BufferShape {
  rows: number;
  bytes: number;
  /** When the oldest buffered row arrived (ms), undefined when empty. */
  oldestAt: number | undefined;
}

export type FlushReason = 'rows' | 'bytes' | 'age' | 'command' | 'drain' | 'reform';

/** Whether the buffer is due now, and why (rows and bytes win over age). */
export function flushDue(buffer: BufferShape, limits: FlushLimits, now: number): FlushReason | undefined {
  if (buffer.rows === 0) return undefined;
  if (buffer.rows >= limits.maxRows) return 'rows';
  if (buffer.bytes >= limits.maxBytes) return 'bytes';
  if (buffer.oldestAt !== undefined && now - buffer.oldestAt >= limits.maxAgeMs) return 'age';
  return undefined;
}

/**
 * How many rows from the head of the buffer make the next batch: within both limits, at least one.
 * `rows`: each row's size in bytes, or the rows themselves with their `bytes`.
 */
export function batchSize(rows: ArrayLike<number | { readonly bytes: number }>, limits: Pick<FlushLimits, 'maxRows' | 'maxBytes'>): number {
  const n = Math.min(rows.length, limits.maxRows);
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    bytes += typeof row === 'number' ? row : row.bytes;
    if (bytes > limits.maxBytes) return Math.max(1, i);
  }
  return n;
}

/** Milliseconds until the age limit makes the buffer due (0 when already due), undefined when empty. */
export function msUntilDue(buffer: BufferShape, limits: FlushLimits, now: number): number | undefined {
  if (buffer.oldestAt === undefined || buffer.rows === 0) return undefined;
  return Math.max(0, buffer.oldestAt + limits.maxAgeMs - now);
}
