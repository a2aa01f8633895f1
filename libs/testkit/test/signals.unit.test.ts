import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { stopProcess, threadStates } from '../src/index.ts';

/** A process with more busy threads than the machine has cores: some are always waiting for a CPU. */
const BUSY_THREADS = `
const { Worker } = require('node:worker_threads');
for (let i = 0; i < 6; i++) new Worker('for (;;) {}', { eval: true });
setInterval(() => {}, 1000);
setTimeout(() => process.stdout.write('ready\\n'), 200);
`;

describe('stopProcess', () => {
  let child: ChildProcess | undefined;

  afterEach(() => {
    if (child?.pid !== undefined && child.exitCode === null) {
      child.kill('SIGKILL');
      child.kill('SIGCONT');
    }
    child = undefined;
  });

  // A bare kill(SIGSTOP) left threads running in 10 of 10 tries on this 2-core machine: each
  // thread stops only when next scheduled. This is why a "frozen" broker once answered a request.
  it('resolves only once every thread of the process is stopped', async () => {
    for (let round = 0; round < 3; round++) {
      child = spawn(process.execPath, ['-e', BUSY_THREADS], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise((resolve) => child!.stdout!.once('data', resolve));
      expect(threadStates(child.pid!).length).toBeGreaterThanOrEqual(7);
      await stopProcess(child.pid!);
      expect(threadStates(child.pid!).filter((state) => state !== 'T' && state !== 't')).toEqual([]);
      child.kill('SIGKILL');
      child.kill('SIGCONT');
      await new Promise((resolve) => child!.once('exit', resolve));
    }
  });

  it('rejects for a process that does not exist', async () => {
    await expect(stopProcess(2 ** 22 + 12_345, 100)).rejects.toThrow(/ESRCH/);
  });
});
