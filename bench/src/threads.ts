import { Worker } from 'node:worker_threads';
import type { FromWorker, LoadWorkerData, ToWorker } from './load-worker.ts';
import type { IntervalSnapshot } from './stats.ts';

const WORKER_FILE = new URL('./load-worker.cjs', import.meta.url);

/** The load threads run TypeScript: make sure they get the tsx loader even when this process was started another way (vitest). */
function workerExecArgv(): string[] {
  const argv = process.execArgv;
  return argv.some((a) => a.includes('tsx')) ? argv : [...argv, '--import', 'tsx'];
}

export interface PhaseResult {
  dispatched: number;
  intended: number;
  stoppedEarly: boolean;
  undrained: number;
}

/** The load threads, driven phase by phase from the main thread. */
export class LoadThreads {
  private readonly workers: Worker[] = [];
  private readonly waiters = new Map<Worker, (m: FromWorker) => void>();
  private readonly exited = new Map<Worker, Promise<void>>();

  constructor(
    data: LoadWorkerData[],
    private readonly onInterval: (thread: number, snapshot: IntervalSnapshot) => void,
  ) {
    data.forEach((d, i) => {
      const worker = new Worker(WORKER_FILE, { workerData: d, execArgv: workerExecArgv() });
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'interval') this.onInterval(i, m.snapshot);
        else this.waiters.get(worker)?.(m);
      });
      worker.on('error', (error) => this.waiters.get(worker)?.({ type: 'open-failed', message: `load thread ${i} failed: ${error.message}` }));
      this.exited.set(worker, new Promise((resolve) => worker.once('exit', () => resolve())));
      this.workers.push(worker);
    });
  }

  get size(): number {
    return this.workers.length;
  }

  private next(worker: Worker, accept: (m: FromWorker) => boolean): Promise<FromWorker> {
    return new Promise((resolve) => {
      this.waiters.set(worker, (m) => {
        if (!accept(m)) return;
        this.waiters.delete(worker);
        resolve(m);
      });
    });
  }

  /** Resolves when every thread has opened its target (WebSocket connections, say); throws with the first failure. */
  async ready(): Promise<void> {
    const replies = await Promise.all(this.workers.map((w) => this.next(w, (m) => m.type === 'ready' || m.type === 'open-failed')));
    const failed = replies.find((m) => m.type === 'open-failed');
    if (failed && failed.type === 'open-failed') throw new Error(failed.message);
  }

  async runPhase(message: (thread: number) => Extract<ToWorker, { type: 'phase' }>): Promise<PhaseResult> {
    const done = this.workers.map((w) => this.next(w, (m) => m.type === 'phase-done' || m.type === 'open-failed'));
    this.workers.forEach((w, i) => w.postMessage(message(i)));
    const replies = await Promise.all(done);
    const result: PhaseResult = { dispatched: 0, intended: 0, stoppedEarly: false, undrained: 0 };
    for (const m of replies) {
      if (m.type === 'open-failed') throw new Error(m.message);
      if (m.type !== 'phase-done') continue;
      result.dispatched += m.dispatched;
      result.intended += m.intended;
      result.undrained += m.undrained;
      result.stoppedEarly ||= m.stoppedEarly;
    }
    return result;
  }

  stop(): void {
    for (const w of this.workers) w.postMessage({ type: 'stop' } satisfies ToWorker);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        const closed = this.next(w, (m) => m.type === 'closed');
        w.postMessage({ type: 'close' } satisfies ToWorker);
        const timer = setTimeout(() => void w.terminate(), 5000);
        await Promise.race([closed, this.exited.get(w)]);
        clearTimeout(timer);
        await w.terminate();
      }),
    );
  }
}
