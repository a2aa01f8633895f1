import type { Piscina } from 'piscina';
import { KIND_CODE, seqOf, workerFailedReply, type IngestReply, type IngestResult, type IngestTask } from '@floodgate/ingest-worker';

export interface PendingRequest {
  body: Uint8Array;
  tenant: string;
  receivedAtMs: number;
  /** KIND_CODE of the request. */
  kind: number;
  /** Index into CONTENT_ENCODINGS. */
  encoding: number;
  /** W3C traceparent passed on to the worker (a sampled request's span, or a client's unsampled header). */
  traceparent: string | undefined;
  reply: (reply: IngestReply) => void;
}

export interface MicrobatcherOptions {
  maxRequests: number;
  /** 0: flush after the current turn of the event loop; else wait up to this long for more requests. */
  maxWaitMs: number;
  /** Requests waiting for a worker or for Kafka; past this bound the gateway answers 503. */
  maxPending: number;
  onTaskDone?: (result: IngestResult) => void;
  onTaskError: (error: unknown) => void;
  /**
   * A reply callback (or onTaskDone) threw: reported here, and the other requests of the
   * micro-batch are still answered.
   */
  onCallbackError: (error: unknown) => void;
}

/**
 * Collects requests during one turn of the event loop (or maxWaitMs, or up to maxRequests) and hands them to a
 * worker as one task whose bodies share one transferred ArrayBuffer: a piscina task costs ~25 µs
 * and a per-request structured clone costs more than the parse itself.
 */
export class Microbatcher {
  private batch: PendingRequest[] = [];
  private batchBytes = 0;
  private scheduled = false;
  private pending = 0;
  /** Answered requests per second, smoothed: what Retry-After is derived from. */
  private drainRate = 0;
  private drainWindowStart = performance.now();
  private drainWindowCount = 0;

  constructor(
    private readonly pool: Piscina,
    private readonly options: MicrobatcherOptions,
  ) {}

  /** Requests accepted by the batcher and not yet answered. */
  get pendingRequests(): number {
    return this.pending;
  }

  /** Seconds the current backlog needs to drain at the measured rate (at least 1). */
  backlogSeconds(): number {
    return this.drainRate > 0 ? Math.max(1, this.pending / this.drainRate) : 1;
  }

  /** False when over the bound: the caller answers 503 and nothing is queued. */
  submit(request: PendingRequest): boolean {
    if (this.pending >= this.options.maxPending) return false;
    this.pending++;
    this.batch.push(request);
    this.batchBytes += request.body.length;
    if (this.batch.length >= this.options.maxRequests) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      if (this.options.maxWaitMs > 0) setTimeout(() => this.flush(), this.options.maxWaitMs);
      else setImmediate(() => this.flush());
    }
    return true;
  }

  private recordDrained(count: number): void {
    this.pending -= count;
    this.drainWindowCount += count;
    const now = performance.now();
    const elapsed = now - this.drainWindowStart;
    if (elapsed >= 1000) {
      const rate = (this.drainWindowCount * 1000) / elapsed;
      this.drainRate = this.drainRate === 0 ? rate : 0.7 * this.drainRate + 0.3 * rate;
      this.drainWindowStart = now;
      this.drainWindowCount = 0;
    }
  }

  private flush(): void {
    this.scheduled = false;
    const requests = this.batch;
    if (requests.length === 0) return;
    const bodies = new ArrayBuffer(this.batchBytes);
    this.batch = [];
    this.batchBytes = 0;

    const view = new Uint8Array(bodies);
    const n = requests.length;
    const offsets = new Uint32Array(n + 1);
    const receivedAtMs = new Float64Array(n);
    const kinds = new Uint8Array(n);
    const encodings = new Uint8Array(n);
    const tenants: string[] = new Array(n);
    // Only when some request carries a trace context: an untraced micro-batch carries nothing extra.
    let traceparents: string[] | undefined;
    let at = 0;
    for (let i = 0; i < n; i++) {
      const r = requests[i]!;
      offsets[i] = at;
      view.set(r.body, at);
      at += r.body.length;
      tenants[i] = r.tenant;
      receivedAtMs[i] = r.receivedAtMs;
      kinds[i] = r.kind;
      encodings[i] = r.encoding;
      if (r.traceparent !== undefined) (traceparents ??= new Array<string>(n).fill(''))[i] = r.traceparent;
    }
    offsets[n] = at;
    const task: IngestTask = { bodies, offsets, tenants, receivedAtMs, kinds, encodings };
    if (traceparents !== undefined) task.traceparents = traceparents;
    this.pool
      .run(task, { transferList: [bodies, offsets.buffer, receivedAtMs.buffer, kinds.buffer, encodings.buffer] })
      .then(
        (result: IngestResult) => {
          this.recordDrained(n);
          this.guard(() => this.options.onTaskDone?.(result));
          for (let i = 0; i < n; i++) this.answer(requests[i]!, result.replies[i]!);
        },
        (error: unknown) => {
          this.recordDrained(n);
          this.options.onTaskError(error);
          // Each in its own protocol: a WebSocket message gets a nack with its seq, not an HTTP body.
          for (const r of requests) this.answer(r, workerFailedReply(r.kind === KIND_CODE.ws ? seqOf(r.body) : undefined));
        },
      );
  }

  /**
   * One request's reply. A throw there (a reply written to a connection that is gone, say) must
   * neither skip the other requests of the micro-batch nor escape as an unhandled rejection, which
   * would end the process and every connection on it.
   */
  private answer(request: PendingRequest, reply: IngestReply): void {
    try {
      request.reply(reply);
    } catch (error) {
      this.options.onCallbackError(error);
    }
  }

  /** An observer callback, kept from breaking the replies like a reply callback. */
  private guard(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.options.onCallbackError(error);
    }
  }
}
