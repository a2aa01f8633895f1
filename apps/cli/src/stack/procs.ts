/**
 * Process plumbing for the local stack, Linux only (it reads /proc): pid files, detached start,
 * ownership checks by command line, and a stop that never signals a recycled pid.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import net from 'node:net';
import { allPids, readCmdline } from '@floodgate/lifecycle';

export { listenersOf, readCmdline } from '@floodgate/lifecycle';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FloodgateError } from '@floodgate/errors';

export function readPidFile(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

export function writePidFile(file: string, pid: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${pid}\n`);
  // rename is atomic: a reader sees the old pid file or the new one, never half of one.
  renameSync(tmp, file);
}

export function removePidFile(file: string): void {
  rmSync(file, { force: true });
}

interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces or ')'; fields follow the last ')'.
    const rest = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, ppid: Number(rest[1]), pgrp: Number(rest[2]) };
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  const st = readStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

/** Live processes whose command line satisfies `match`. */
export function findProcesses(match: (argv: string[]) => boolean): { pid: number; argv: string[] }[] {
  const found: { pid: number; argv: string[] }[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid) continue;
    const argv = readCmdline(pid);
    if (argv && isAlive(pid) && match(argv)) found.push({ pid, argv });
  }
  return found;
}

/** Live members of process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  return allPids().filter((pid) => {
    const st = readStat(pid);
    return st !== undefined && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X';
  });
}


/** True when nothing listens on host:port (we could bind it). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A short human description of a process, for messages. */
export function describeProcess(p: { pid: number; argv: string[] }): string {
  const text = p.argv.join(' ');
  return `pid ${p.pid} (${text.length > 120 ? `${text.slice(0, 117)}...` : text})`;
}

export interface SpawnSpec {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Starts `spec` in its own session and process group, stdin closed, stdout and stderr appended to
 * `logFile`, and lets it outlive this process. Resolves with the pid once the exec succeeded.
 */
export async function spawnDetached(name: string, spec: SpawnSpec, logFile: string): Promise<{ pid: number; exited: () => boolean }> {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  try {
    writeSync(fd, `\n--- ${new Date().toISOString()} floodgate stack: starting ${name}: ${[spec.command, ...spec.args].join(' ')}\n`);
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (cause) =>
        reject(new FloodgateError('STACK_START_FAILED', `${name}: cannot run ${spec.command}: ${cause.message}`, { cause })),
      );
    });
    child.unref();
    return { pid: child.pid!, exited: () => exited };
  } finally {
    closeSync(fd);
  }
}

/** Runs a command to completion with output appended to `logFile`; fails on a non-zero exit. */
export async function runLogged(what: string, spec: SpawnSpec, logFile: string, timeoutMs: number): Promise<void> {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  try {
    writeSync(fd, `\n--- ${new Date().toISOString()} floodgate stack: ${what}: ${[spec.command, ...spec.args].join(' ')}\n`);
    const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', fd, fd] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await new Promise<number | string>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, signal) => resolve(c ?? signal ?? -1));
    }).finally(() => clearTimeout(timer));
    if (code !== 0) {
      throw new FloodgateError('STACK_START_FAILED', `${what} failed (exit ${code}): ${await lastLogLine(logFile)}; see ${logFile}`);
    }
  } catch (error) {
    if (error instanceof FloodgateError) throw error;
    throw new FloodgateError('STACK_START_FAILED', `${what} failed: ${(error as Error).message}`, { cause: error });
  } finally {
    closeSync(fd);
  }
}

/**
 * Stops the process `pid` and its process group: SIGTERM, then SIGKILL after `graceMs`. Before every
 * signal it checks that `pid` still runs a command line `isOurs` accepts, so a pid the kernel has
 * since given to another program is never signalled. Resolves once no member of the group is left.
 */
export async function stopProcess(pid: number, isOurs: (argv: string[]) => boolean, graceMs: number): Promise<'stopped' | 'killed' | 'gone'> {
  const ours = () => {
    const argv = readCmdline(pid);
    return argv !== undefined && isAlive(pid) && isOurs(argv);
  };
  if (!ours()) return 'gone';
  // Started detached, so it leads its own group: signal the group to take its children along.
  const leadsGroup = readStat(pid)?.pgrp === pid;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(leadsGroup ? -pid : pid, sig);
    } catch {
      // already gone
    }
  };
  const remaining = () => (leadsGroup ? groupMembers(pid) : isAlive(pid) ? [pid] : []);

  signal('SIGTERM');
  const termDeadline = Date.now() + graceMs;
  while (Date.now() < termDeadline) {
    if (remaining().length === 0) return 'stopped';
    await sleep(100);
  }
  // Still there after the grace period: verify again (the leader may have exited and its pid been reused).
  if (ours() || (leadsGroup && !isAlive(pid) && remaining().length > 0)) signal('SIGKILL');
  const killDeadline = Date.now() + 5_000;
  while (Date.now() < killDeadline) {
    if (remaining().length === 0) return 'killed';
    await sleep(100);
  }
  throw new FloodgateError('SHUTDOWN_TIMEOUT', `pid ${pid} (and its group) did not exit after SIGKILL`);
}

/** The last informative line of a log file (an error if there is one near the end), for one-line messages. */
export async function lastLogLine(logFile: string, maxChars = 300): Promise<string> {
  let text = '';
  try {
    const size = (await stat(logFile)).size;
    const handle = await open(logFile, 'r');
    try {
      const length = Math.min(size, 64 * 1024);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      text = buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '(no log output)';
  }
  // Only what the last start wrote.
  const start = text.lastIndexOf('\n--- ');
  const lines = (start >= 0 ? text.slice(start + 1).split('\n').slice(1) : text.split('\n')).map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) return '(no log output)';
  // The last error line, with the exception message that follows it in a Java log
  // ("ERROR Exiting Kafka due to fatal exception" says little without "java.lang.X: why").
  let at = -1;
  for (let i = lines.length - 1; i >= 0 && at < 0; i--) {
    if (/\b(ERROR|FATAL|FTL|\[ERR\]|"level":"(error|fatal)")/i.test(lines[i]!)) at = i;
  }
  let line = at >= 0 ? lines[at]! : lines[lines.length - 1]!;
  const next = at >= 0 ? lines[at + 1] : undefined;
  if (next && /^[\w.$]+(Exception|Error)\b/.test(next)) line = `${line}: ${next}`;
  return line.length > maxChars ? `${line.slice(0, maxChars - 3)}...` : line;
}

/**
 * An exclusive lock on `file` between processes (O_EXCL create), so two `stack up`s on one
 * FLOODGATE_HOME don't start two of everything. A lock left by a dead process is taken over.
 */
export async function withLock<T>(file: string, timeoutMs: number, onWait: (holder: number) => void, fn: () => Promise<T>): Promise<T> {
  mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readPidFile(file);
    if (holder === undefined || !isAlive(holder)) {
      // Stale: its owner died. Remove it only if it is still the same stale file.
      if (readPidFile(file) === holder) rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new FloodgateError('STACK_START_FAILED', `another floodgate stack command (pid ${holder}) holds ${file}; gave up waiting after ${timeoutMs} ms`);
    }
    if (!told) {
      onWait(holder);
      told = true;
    }
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    if (readPidFile(file) === process.pid) rmSync(file, { force: true });
  }
}
