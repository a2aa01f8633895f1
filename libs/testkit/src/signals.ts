import { readdirSync, readFileSync } from 'node:fs';
import { waitFor } from './wait.ts';

/** The scheduler state of every thread of a process (`R`, `S`, `T`, ...), from /proc. */
export function threadStates(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(') ') + 2, stat.lastIndexOf(') ') + 3);
  });
}

/**
 * SIGSTOP, and resolves once every thread of the process has stopped. `kill` only queues the
 * signal: each thread stops when it is next scheduled, so on a busy machine a JVM can go on
 * answering requests for a while after `kill` returned (a frozen broker that still acknowledged a
 * produce sent after the freeze made kafka-stall.int fail in CI).
 */
export async function stopProcess(pid: number, timeoutMs = 10_000): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  await waitFor(() => threadStates(pid).every((state) => state === 'T' || state === 't'), {
    timeoutMs,
    intervalMs: 2,
    description: `every thread of pid ${pid} stopped after SIGSTOP`,
  });
}
