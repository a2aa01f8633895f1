import { BroadcastChannel } from 'node:worker_threads';

/**
 * Worker threads batch their spans like any process, but piscina ends threads with terminate():
 * nothing runs on the way out. So before a gateway destroys its pool it asks every thread over a
 * BroadcastChannel to export what it holds, and waits (bounded) for their answers.
 */
interface FlushMessage {
  type: 'flush' | 'flushed';
  id: number;
}

let nextId = 1;

/** In a worker thread: answer flush requests on `channelName`. Returns a function that stops listening. */
export function listenForFlush(channelName: string, flush: () => Promise<void>): () => void {
  const channel = new BroadcastChannel(channelName);
  channel.onmessage = (event: unknown) => {
    const message = (event as { data: FlushMessage }).data;
    if (message?.type !== 'flush') return;
    flush()
      .catch(() => undefined)
      .finally(() => channel.postMessage({ type: 'flushed', id: message.id } satisfies FlushMessage));
  };
  // Never the reason a thread stays alive.
  channel.unref();
  return () => channel.close();
}

/**
 * Asks the threads listening on `channelName` to export their spans; resolves when `threads` of
 * them answered or after `timeoutMs`, with the number that answered.
 */
export function flushWorkerTelemetry(channelName: string, threads: number, timeoutMs: number): Promise<number> {
  if (threads <= 0) return Promise.resolve(0);
  const id = nextId++;
  const channel = new BroadcastChannel(channelName);
  return new Promise<number>((resolve) => {
    let answered = 0;
    const finish = () => {
      clearTimeout(timer);
      channel.close();
      resolve(answered);
    };
    const timer = setTimeout(finish, timeoutMs);
    channel.onmessage = (event: unknown) => {
      const message = (event as { data: FlushMessage }).data;
      if (message?.type === 'flushed' && message.id === id && ++answered >= threads) finish();
    };
    channel.postMessage({ type: 'flush', id } satisfies FlushMessage);
  });
}
