import { describe, expect, it } from 'vitest';
import { QueueClosedError, QueueFullError, SerialQueue } from '../src/queue.ts';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('SerialQueue', () => {
  it('runs one job at a time, in order', async () => {
    const queue = new SerialQueue({ maxQueued: 10, maxQueuedBytes: 1e9 });
    const log: string[] = [];
    let active = 0;
    const job = (name: string) => async () => {
      active += 1;
      expect(active).toBe(1);
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`end ${name}`);
      active -= 1;
      return name;
    };
    const results = await Promise.all([queue.push(job('a')), queue.push(job('b')), queue.push(job('c'))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('keeps going after a failed job', async () => {
    const queue = new SerialQueue({ maxQueued: 10, maxQueuedBytes: 1e9 });
    const failed = queue.push(async () => {
      throw new Error('boom');
    });
    const next = queue.push(async () => 'ok');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
  });

  it('refuses jobs beyond maxQueued (the running one does not count)', async () => {
    const queue = new SerialQueue({ maxQueued: 1, maxQueuedBytes: 1e9 });
    const gate = deferred();
    const running = queue.push(() => gate.promise);
    const waiting = queue.push(async () => 'second');
    expect(queue.wouldRefuse()).toMatch(/1 queries already queued/);
    await expect(queue.push(async () => 'third')).rejects.toBeInstanceOf(QueueFullError);
    gate.resolve();
    await running;
    await expect(waiting).resolves.toBe('second');
  });

  it('refuses jobs beyond maxQueuedBytes, but always admits one', async () => {
    const queue = new SerialQueue({ maxQueued: 10, maxQueuedBytes: 100 });
    const gate = deferred();
    const running = queue.push(() => gate.promise, 1000); // running: bytes no longer held in the queue
    const first = queue.push(async () => 1, 1000); // the first waiting job is always admitted
    await expect(queue.push(async () => 2, 10)).rejects.toBeInstanceOf(QueueFullError);
    gate.resolve();
    await running;
    await expect(first).resolves.toBe(1);
  });

  it('drains on close, refuses new jobs, and can drop waiting ones', async () => {
    const queue = new SerialQueue({ maxQueued: 10, maxQueuedBytes: 1e9 });
    const gate = deferred();
    const running = queue.push(() => gate.promise.then(() => 'done'));
    const waiting = queue.push(async () => 'never');
    queue.close();
    await expect(queue.push(async () => 'late')).rejects.toBeInstanceOf(QueueClosedError);
    expect(queue.rejectWaiting(new Error('shutting down'))).toBe(1);
    await expect(waiting).rejects.toThrow('shutting down');
    let idle = false;
    const onIdle = queue.onIdle().then(() => (idle = true));
    await Promise.resolve();
    expect(idle).toBe(false);
    gate.resolve();
    await expect(running).resolves.toBe('done');
    await onIdle;
    expect(idle).toBe(true);
  });
});
