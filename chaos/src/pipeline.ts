/**
 * The private stack and pipeline that the chaos suite and the soak run against: `floodgate stack up`
 * (3 brokers, NATS, ClickHouse) and `floodgate start` (2 gateway processes, 1 sink process), and
 * their teardown.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { onStopRequest } from '@floodgate/lifecycle';
import type { ChaosWorld } from './env.ts';
import { cliOk, descendants, gatewayPids, readPid, runCli, sinkPids, spawnCli, waitFor } from './procs.ts';

export interface RunningWorld {
  start: ChildProcess;
  startPid: number;
  apiKey: string;
  log: string;
  /** Throws when `floodgate start` has exited (the pipeline is gone). */
  assertRunning(): void;
}

export async function bringUp(world: ChaosWorld, say: (line: string) => void): Promise<RunningWorld> {
  const log = path.join(world.home, 'logs', 'chaos-cli.log');
  say('stack up (3 brokers, NATS, ClickHouse)...');
  await cliOk(['stack', 'up'], world.env, log, 15 * 60_000);
  say('floodgate start (2 gateway processes, 1 sink process)...');
  const start = spawnCli(['start'], world.env, path.join(world.home, 'logs', 'chaos-start.log'));
  const startPid = start.pid!;
  let startExit: number | null | undefined;
  start.once('exit', (code) => (startExit = code));
  const assertRunning = () => {
    if (startExit !== undefined) throw new Error(`floodgate start exited ${startExit}; see ${world.home}/logs/chaos-start.log`);
  };
  await waitFor('the pipeline to run (2 gateway processes, 1 sink process)', () => {
    assertRunning();
    return gatewayPids(startPid).workers.length === 2 && sinkPids(startPid).length === 1;
  }, 180_000, 500);
  await gatewayReady(world);
  const apiKey = await waitFor('the development API key', () => {
    try {
      return readFileSync(path.join(world.home, 'dev-api-key'), 'utf8').trim();
    } catch {
      return undefined;
    }
  }, 60_000);
  return { start, startPid, apiKey, log, assertRunning };
}

/** Stops the pipeline and the private stack; removes the home unless `keepHome`. */
export async function tearDown(world: ChaosWorld, running: RunningWorld | undefined, keepHome: boolean): Promise<void> {
  const start = running?.start;
  if (start && start.exitCode === null && start.signalCode === null) {
    start.kill('SIGTERM');
    await waitFor('floodgate start to stop', () => start.exitCode !== null || start.signalCode !== null, 60_000).catch(() => start.kill('SIGKILL'));
  }
  await runCli(['stack', 'down'], world.env, path.join(world.home, 'logs', 'chaos-cli.log'), 120_000);
  if (!keepHome) rmSync(world.home, { recursive: true, force: true });
}

/** Resident memory (MiB) of every process of the world: stack servers and the pipeline's processes. */
export function worldRss(world: ChaosWorld, running: RunningWorld): { name: string; pid: number; rssMiB: number }[] {
  const rss = (pid: number) => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Math.round(Number(m[1]) / 102.4) / 10 : 0;
    } catch {
      return 0;
    }
  };
  const out: { name: string; pid: number; rssMiB: number }[] = [];
  const runDir = path.join(world.home, 'run');
  for (const file of readdirSync(runDir).filter((f) => f.endsWith('.pid')).sort()) {
    const pid = readPid(path.join(runDir, file));
    if (pid !== undefined) out.push({ name: file.replace(/\.pid$/, ''), pid, rssMiB: rss(pid) });
  }
  const gw = gatewayPids(running.startPid);
  if (gw.primary) out.push({ name: 'gateway primary', pid: gw.primary, rssMiB: rss(gw.primary) });
  gw.workers.forEach((pid, i) => out.push({ name: `gateway process ${i + 1}`, pid, rssMiB: rss(pid) }));
  const supervisor = descendants(running.startPid).find((p) => p.argv.some((a) => a.endsWith('apps/sink-worker/src/supervisor-main.ts')));
  if (supervisor) out.push({ name: 'sink supervisor', pid: supervisor.pid, rssMiB: rss(supervisor.pid) });
  sinkPids(running.startPid).forEach((pid, i) => out.push({ name: `sink process ${i + 1}`, pid, rssMiB: rss(pid) }));
  out.push({ name: 'floodgate start', pid: running.startPid, rssMiB: rss(running.startPid) });
  return out;
}

/** The gateway answers /readyz on its admin port (it listens and reaches Kafka). */
export async function gatewayReady(world: ChaosWorld, timeoutMs = 120_000): Promise<void> {
  await waitFor('the gateway to answer /readyz', async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${world.ports.admin}/readyz`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }, timeoutMs, 500);
}

/**
 * Ctrl-C (or SIGTERM) still stops the private pipeline and stack; a second one exits at once.
 * `current`: the pipeline running now, if any.
 */
export function stopOnInterrupt(world: ChaosWorld, current: () => RunningWorld | undefined, say: (line: string) => void): void {
  let interrupted = false;
  onStopRequest(
    () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      say('interrupted: stopping the private pipeline and stack (again to exit at once)');
      void tearDown(world, current(), true).finally(() => process.exit(130));
    },
    { parent: false },
  );
}

/** Ends the process with the exit code `main` resolves to, or 1 (with the stack) when it throws. */
export function exitWith(main: Promise<number>, say: (line: string) => void): void {
  main.then(
    (code) => process.exit(code),
    (error: Error) => {
      say(`error: ${error.stack ?? error.message}`);
      process.exit(1);
    },
  );
}
