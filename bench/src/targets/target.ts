import type { RequestBody } from '../payload.ts';
import type { Outcome } from '../stats.ts';

/** Something the load threads send request bodies to. `send` never rejects: failures are outcomes. */
export interface Target {
  open(): Promise<void>;
  send(body: RequestBody, intendedAtMs: number): Promise<Outcome>;
  /** Sent (or queued in the target) and not answered yet. */
  readonly inFlight: number;
  close(): Promise<void>;
}

export interface TargetOptions {
  kind: 'http' | 'ws';
  url: string;
  /** HTTP: keep-alive connections of this thread; WebSocket: connections of this thread. */
  connections: number;
  /** WebSocket: messages in flight (sent, not acked) per connection. */
  window: number;
  format: 'json' | 'ndjson';
  gzip: boolean;
  apiKey?: string;
  timeoutMs: number;
  /** Past this many requests waiting in this thread, new arrivals are dropped and counted. */
  maxQueued: number;
}

/** The error class of an error answer: `<status> <error.code>`, read from the JSON error body when there is one. */
export function errorKey(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown } };
    const code = parsed?.error?.code;
    if (typeof code === 'string' && code) return `${status} ${code}`;
  } catch {
    // not JSON
  }
  return `${status}`;
}

/** Events acknowledged by a 2xx answer: `accepted`, else the length of `ids`, else what was sent. */
export function acceptedOf(body: string, sent: number): number {
  try {
    const parsed = JSON.parse(body) as { accepted?: unknown; ids?: unknown };
    if (typeof parsed.accepted === 'number') return parsed.accepted;
    if (Array.isArray(parsed.ids)) return parsed.ids.length;
  } catch {
    // not JSON
  }
  return sent;
}

/** The error class of a client-side failure (no answer). */
export function networkErrorKey(error: unknown): string {
  const e = error as { code?: string; name?: string; message?: string };
  if (e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT' || e?.name === 'TimeoutError') return 'timeout';
  if (e?.code) return `net ${e.code}`;
  return `net ${e?.name ?? 'Error'}`;
}
