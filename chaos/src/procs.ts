/**
 * Driving the pipeline as a black box: the `floodgate` CLI as child processes, and the process
 * tree under /proc to find the pids a fault is aimed at (only descendants of the `floodgate start`
 * this suite launched, never anyone else's gateway or sink).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { allPids, readCmdline } from '@floodgate/lifecycle';
import { REPO_ROOT } from './env.ts';

const CLI = ['--import', 'tsx', 'apps/cli/src/main.ts'];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `floodgate <args>` to completion (bounded), appending stderr to `logFile`. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, logFile: string, timeoutMs = 300_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(logFile, { flags: 'a' });
    log.write(`\n--- ${new Date().toISOString()} floodgate ${args.join(' ')}\n`);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      log.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      log.end();
      resolve({ code, stdout, stderr });
    });
  });
}

/** `floodgate <args>`, failing loudly unless it exits 0. */
export async function cliOk(args: string[], env: NodeJS.ProcessEnv, logFile: string, timeoutMs?: number): Promise<string> {
  const r = await runCli(args, env, logFile, timeoutMs);
  if (r.code !== 0) throw new Error(`floodgate ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
}

/** A long-running `floodgate <args>` (e.g. `start`), output to `logFile`. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  return child;
}

function parentOf(pid: number): number | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
    return Number(rest[1]);
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  return parentOf(pid) !== undefined;
}

/** Every live descendant of `root`, with its command line and parent. */
export function descendants(root: number): { pid: number; ppid: number; argv: string[] }[] {
  const parents = new Map<number, number>();
  for (const pid of allPids()) {
    const ppid = parentOf(pid);
    if (ppid !== undefined) parents.set(pid, ppid);
  }
  const out: { pid: number; ppid: number; argv: string[] }[] = [];
  const isUnder = (pid: number): boolean => {
    for (let p = parents.get(pid), hops = 0; p !== undefined && hops < 64; p = parents.get(p), hops++) if (p === root) return true;
    return false;
  };
  for (const [pid, ppid] of parents) {
    if (!isUnder(pid)) continue;
    const argv = readCmdline(pid);
    if (argv) out.push({ pid, ppid, argv });
  }
  return out;
}

const hasEntry = (argv: string[], entry: string) => argv.some((a) => a.endsWith(entry));

/** The gateway primary under `root` and its worker processes (node:cluster children). */
export function gatewayPids(root: number): { primary?: number; workers: number[] } {
  const procs = descendants(root).filter((p) => hasEntry(p.argv, 'apps/gateway/src/main.ts'));
  const pids = new Set(procs.map((p) => p.pid));
  const primary = procs.find((p) => !pids.has(p.ppid))?.pid;
  return { primary, workers: procs.filter((p) => p.ppid === primary).map((p) => p.pid).sort((a, b) => a - b) };
}

/** The sink processes (not the supervisor) under `root`. */
export function sinkPids(root: number): number[] {
  return descendants(root)
    .filter((p) => hasEntry(p.argv, 'apps/sink-worker/src/main.ts'))
    .map((p) => p.pid)
    .sort((a, b) => a - b);
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  process.kill(pid, sig);
}

/** Polls `condition` every `everyMs` until it is truthy or `timeoutMs` passed (then throws `what`). */
export async function waitFor<T>(what: string, condition: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}
