/**
 * Reading other processes from /proc (Linux only): who is running, with which command line, and
 * who listens on a TCP port. Used by the local stack (ownership checks) and the bench (which
 * processes to sample).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Pids of every process visible in /proc. */
export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** The argv of a live process, or undefined when it is gone (or a zombie, whose cmdline is empty). */
export function readCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!raw) return undefined;
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/**
 * Processes holding a TCP socket listening on `port` (any address), from /proc/net/tcp{,6} and the
 * socket links under /proc/<pid>/fd. Needs the right to read those processes' fds (root, or the
 * same user); others are left out.
 */
export function listenersOf(port: number): { pid: number; argv: string[] }[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length >= 10 && parseInt(cols[1]!.split(':')[1] ?? '', 16) === port && cols[3] === '0A') inodes.add(cols[9]!);
    }
  }
  if (inodes.size === 0) return [];
  const found: { pid: number; argv: string[] }[] = [];
  for (const pid of allPids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue; // fd closed meanwhile
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) {
        found.push({ pid, argv: readCmdline(pid) ?? [] });
        break;
      }
    }
  }
  return found;
}
