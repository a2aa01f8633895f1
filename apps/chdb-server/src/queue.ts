/**
 * Runs jobs one at a time, in arrival order: chDB executes one query at a time per process here, and
 * a queue in front of it keeps that order fair and bounded. A job is refused up front when the queue
 * is full (by count or by the bytes it holds) instead of piling up memory.
 */
export class QueueFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueFullError';
  }
}

export class QueueClosedError extends Error {
  constructor(message = 'the queue is closed') {
    super(message);
    this.name = 'QueueClosedError';
  }
}

interface Job {
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  bytes: number;
}

export interface SerialQueueOptions {
  /** Jobs waiting (not counting the running one) before new ones are refused. */
  maxQueued: number;
  /** Bytes (request bodies) held by waiting jobs before new ones are refused. */
  maxQueuedBytes: number;
}

export class SerialQueue {
  private readonly waiting: Job[] = [];
  private running = false;
  private queuedBytes = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: SerialQueueOptions) {}

  /** Jobs waiting to start. */
  get size(): number {
    return this.waiting.length;
  }

  get busy(): boolean {
    return this.running;
  }

  /** Whether a job of `bytes` would be refused right now. */
  wouldRefuse(bytes = 0): string | undefined {
    if (this.closed) return 'closed';
    if (this.waiting.length >= this.options.maxQueued) return `${this.waiting.length} queries already queued (max ${this.options.maxQueued})`;
    if (this.waiting.length > 0 && this.queuedBytes + bytes > this.options.maxQueuedBytes) {
      return `queued request bodies would exceed ${this.options.maxQueuedBytes} bytes`;
    }
    return undefined;
  }

  /** Queues `run`; rejects at once with QueueFullError / QueueClosedError when refused. */
  push<T>(run: () => Promise<T>, bytes = 0): Promise<T> {
    if (this.closed) return Promise.reject(new QueueClosedError());
    const refusal = this.wouldRefuse(bytes);
    if (refusal !== undefined) return Promise.reject(new QueueFullError(refusal));
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ run, resolve: resolve as (value: unknown) => void, reject, bytes });
      this.queuedBytes += bytes;
      this.pump();
    });
  }

  /** Refuses new jobs; waiting and running ones carry on. */
  close(): void {
    this.closed = true;
  }

  /** Rejects every job that has not started yet with `error`. */
  rejectWaiting(error: unknown): number {
    const dropped = this.waiting.splice(0);
    this.queuedBytes = 0;
    for (const job of dropped) job.reject(error);
    this.notifyIdle();
    return dropped.length;
  }

  /** Resolves once nothing is running and nothing is waiting. */
  onIdle(): Promise<void> {
    if (!this.running && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    if (this.running) return;
    const job = this.waiting.shift();
    if (!job) {
      this.notifyIdle();
      return;
    }
    this.queuedBytes -= job.bytes;
    this.running = true;
    let promise: Promise<unknown>;
    try {
      promise = job.run();
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(job.resolve, job.reject).finally(() => {
      this.running = false;
      this.pump();
    });
  }

  private notifyIdle(): void {
    if (this.running || this.waiting.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
