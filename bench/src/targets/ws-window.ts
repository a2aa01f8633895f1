/**
 * The framing and flow control of the WebSocket target, kept free of I/O so it is unit-tested.
 *
 * Contract (docs/gateway.md, "WebSocket `/v1/stream`"): each client message is `{"seq": <int>, "events": [...]}`;
 * the server answers `{"ack": seq, "accepted": n, "ids": [...]}` after the Kafka ack, or
 * `{"nack": seq, "error": {"code", "message"}}`.
 */

/** One message, built by splicing the pre-serialised events array (no re-serialisation per send). */
export function frameMessage(seq: number, eventsJson: string): string {
  return `{"seq":${seq},"events":${eventsJson}}`;
}

export type Reply =
  | { kind: 'ack'; seq: number; accepted: number | undefined }
  | { kind: 'nack'; seq: number; code: string; message: string }
  | { kind: 'other'; text: string };

export function parseReply(text: string): Reply {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'other', text };
  }
  if (typeof parsed !== 'object' || parsed === null) return { kind: 'other', text };
  const p = parsed as { ack?: unknown; nack?: unknown; accepted?: unknown; ids?: unknown; error?: { code?: unknown; message?: unknown } };
  if (typeof p.ack === 'number') {
    const accepted = typeof p.accepted === 'number' ? p.accepted : Array.isArray(p.ids) ? p.ids.length : undefined;
    return { kind: 'ack', seq: p.ack, accepted };
  }
  if (typeof p.nack === 'number') {
    const code = typeof p.error?.code === 'string' ? p.error.code : 'UNKNOWN';
    const message = typeof p.error?.message === 'string' ? p.error.message : '';
    return { kind: 'nack', seq: p.nack, code, message };
  }
  return { kind: 'other', text };
}

export type Offer = { action: 'send'; seq: number } | { action: 'queued' } | { action: 'dropped' };

/**
 * Per-connection window: at most `size` messages sent and not yet acked; further ones wait in a
 * bounded FIFO (their intended time keeps running, so the wait counts as latency), beyond which
 * they are dropped and counted. Sequence numbers start at 1 and only grow.
 */
export class SendWindow<T> {
  private nextSeq = 1;
  private readonly inFlight = new Map<number, T>();
  private readonly queue: T[] = [];

  constructor(
    readonly size: number,
    readonly maxQueued: number,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('window size must be an integer ≥ 1');
  }

  get pending(): number {
    return this.inFlight.size + this.queue.length;
  }

  get sent(): number {
    return this.inFlight.size;
  }

  get queued(): number {
    return this.queue.length;
  }

  offer(item: T): Offer {
    if (this.inFlight.size < this.size && this.queue.length === 0) {
      const seq = this.nextSeq++;
      this.inFlight.set(seq, item);
      return { action: 'send', seq };
    }
    if (this.queue.length >= this.maxQueued) return { action: 'dropped' };
    this.queue.push(item);
    return { action: 'queued' };
  }

  /**
   * An ack or nack for `seq`: returns its item (undefined for an unknown or repeated seq) and the
   * queued items that now fit in the window, each with its new seq, to be sent in that order.
   */
  settle(seq: number): { item: T | undefined; release: { seq: number; item: T }[] } {
    const item = this.inFlight.get(seq);
    if (item !== undefined) this.inFlight.delete(seq);
    const release: { seq: number; item: T }[] = [];
    while (this.inFlight.size < this.size && this.queue.length > 0) {
      const next = this.queue.shift()!;
      const s = this.nextSeq++;
      this.inFlight.set(s, next);
      release.push({ seq: s, item: next });
    }
    return { item, release };
  }

  /** The connection is gone: everything in flight or queued, in flight first; the window is empty after. */
  drain(): T[] {
    const all = [...this.inFlight.values(), ...this.queue];
    this.inFlight.clear();
    this.queue.length = 0;
    return all;
  }
}
