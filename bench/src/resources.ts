/**
 * CPU and RSS of every process of the stack, read from /proc (Linux): the gateway (found by the
 * port it listens on, with its cluster children), the sink (by command line and, where readable,
 * its KAFKA_TOPIC / SINK_GROUP_ID), Kafka's JVM, nats-server and the embedded ClickHouse (from the
 * stack's pid files, else by command line), and the generator itself.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { allPids, listenersOf as listenersWithArgv } from '@floodgate/lifecycle';

/** `other`: the rest of the machine (all CPU time and used memory not in the roles above it). */
export type Role = 'gateway' | 'sink' | 'kafka' | 'nats' | 'clickhouse' | 'bench' | 'other';
export const ROLES: readonly Role[] = ['gateway', 'sink', 'kafka', 'nats', 'clickhouse', 'bench', 'other'];

/** Busy and total jiffies of the whole machine, from the first line of /proc/stat. */
export function readMachineTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Used memory of the machine in MiB (MemTotal - MemAvailable). */
export function readUsedMemMiB(): number | undefined {
  try {
    const text = readFileSync('/proc/meminfo', 'utf8');
    const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    const used = (get('MemTotal') - get('MemAvailable')) / 1024;
    return Number.isFinite(used) ? used : undefined;
  } catch {
    return undefined;
  }
}

export interface ResourceSample {
  /** Seconds since the run's t0. */
  t: number;
  /** Per role: CPU in % of one core (200 = both cores of a 2-core box), RSS in MiB, summed over its processes. */
  roles: Partial<Record<Role, { cpu: number; rssMiB: number; pids: number }>>;
}

export interface ResourceSummary {
  role: Role;
  pids: number[];
  cpuAvg: number;
  cpuMax: number;
  rssMaxMiB: number;
  rssLastMiB: number;
}

/** Clock ticks per second of /proc/<pid>/stat times; 100 on every Linux this runs on (getconf CLK_TCK). */
const CLK_TCK = 100;

export function readCpuTicks(pid: number): number | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    // Fields after the name start at state (3rd field of the file); utime is the 14th, stime the 15th.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

export function readRssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function environ(pid: number): Map<string, string> | undefined {
  try {
    const env = new Map<string, string>();
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const i = entry.indexOf('=');
      if (i > 0) env.set(entry.slice(0, i), entry.slice(i + 1));
    }
    return env;
  } catch {
    return undefined;
  }
}

function ppidOf(pid: number): number | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(raw.slice(raw.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}


function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 && readCpuTicks(pid) !== undefined ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Pids with a TCP socket listening on `port`. */
export function listenersOf(port: number): number[] {
  return listenersWithArgv(port).map((l) => l.pid);
}

export interface DiscoverOptions {
  gatewayPort?: number;
  floodgateHome: string;
  kafkaTopic: string;
  sinkGroupId: string;
}

/** Which pids play which role right now. */
export function discoverProcesses(options: DiscoverOptions): Map<Role, number[]> {
  const roles = new Map<Role, number[]>();
  const add = (role: Role, pid: number) => {
    const list = roles.get(role) ?? [];
    if (!list.includes(pid)) list.push(pid);
    roles.set(role, list);
  };
  const pids = allPids();
  const lines = new Map(pids.map((pid) => [pid, cmdline(pid)]));

  if (options.gatewayPort) {
    const listeners = listenersOf(options.gatewayPort).filter((p) => p !== process.pid);
    for (const pid of listeners) add('gateway', pid);
    // node:cluster workers and their primary.
    for (const pid of pids) {
      const parent = ppidOf(pid);
      if (parent !== undefined && listeners.includes(parent) && /apps\/gateway\//.test(lines.get(pid) ?? '')) add('gateway', pid);
    }
    for (const pid of listeners) {
      const parent = ppidOf(pid);
      if (parent !== undefined && /apps\/gateway\//.test(lines.get(parent) ?? '')) add('gateway', parent);
    }
  }
  for (const pid of pids) {
    if (!/apps\/sink-worker\//.test(lines.get(pid) ?? '')) continue;
    const env = environ(pid);
    if (env) {
      if ((env.get('KAFKA_TOPIC') || 'events') !== options.kafkaTopic) continue;
      if ((env.get('SINK_GROUP_ID') || 'floodgate-sink') !== options.sinkGroupId) continue;
    }
    add('sink', pid);
  }
  const run = path.join(options.floodgateHome, 'run');
  const fromFile: [Role, string, RegExp][] = [
    ['kafka', 'kafka.pid', /kafka\.Kafka/],
    ['nats', 'nats.pid', /nats-server/],
    ['clickhouse', 'clickhouse.pid', /chdb-server|clickhouse/],
  ];
  for (const [role, file, pattern] of fromFile) {
    const pid = readPid(path.join(run, file));
    if (pid !== undefined) add(role, pid);
    else for (const p of pids) if (pattern.test(lines.get(p) ?? '') && !/floodgate.*bench/.test(lines.get(p) ?? '')) add(role, p);
  }
  add('bench', process.pid);
  return roles;
}

/** Samples every `intervalMs`, re-discovering processes every 10 samples (a restarted sink is found again). */
export class ResourceSampler {
  readonly samples: ResourceSample[] = [];
  private roles = new Map<Role, number[]>();
  private last = new Map<number, { ticks: number; at: number }>();
  private timer: NodeJS.Timeout | undefined;
  private count = 0;
  private lastSampleAt = 0;
  private lastMachine: { busy: number; total: number } | undefined;
  private readonly cores = availableParallelism();
  private readonly seen = new Map<Role, Set<number>>();

  constructor(
    private readonly options: DiscoverOptions & { t0: number; intervalMs?: number },
  ) {}

  /** Moves t = 0 (the load threads became ready); earlier samples get negative times. */
  setT0(epochMs: number): void {
    const shift = (epochMs - this.options.t0) / 1000;
    this.options.t0 = epochMs;
    for (const s of this.samples) s.t = Math.round((s.t - shift) * 10) / 10;
  }

  start(): void {
    this.roles = discoverProcesses(this.options);
    this.sample();
    this.timer = setInterval(() => this.sample(), this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    // A last sample, unless the previous one is too recent: CPU time moves in 10 ms ticks, so a
    // delta over a few milliseconds would read as several hundred percent.
    if (Date.now() - this.lastSampleAt >= 500) this.sample();
  }

  private sample(): void {
    if (++this.count % 10 === 0) this.roles = discoverProcesses(this.options);
    const now = Date.now();
    this.lastSampleAt = now;
    const sample: ResourceSample = { t: Math.round((now - this.options.t0) / 100) / 10, roles: {} };
    let rolesCpu = 0;
    let rolesRss = 0;
    for (const [role, pids] of this.roles) {
      let cpu = 0;
      let rss = 0;
      let alive = 0;
      for (const pid of pids) {
        const ticks = readCpuTicks(pid);
        const rssKiB = readRssKiB(pid);
        if (ticks === undefined || rssKiB === undefined) continue;
        alive++;
        const seen = this.seen.get(role) ?? new Set();
        seen.add(pid);
        this.seen.set(role, seen);
        const prev = this.last.get(pid);
        if (prev && now > prev.at) cpu += ((ticks - prev.ticks) / CLK_TCK / ((now - prev.at) / 1000)) * 100;
        this.last.set(pid, { ticks, at: now });
        rss += rssKiB / 1024;
      }
      if (alive > 0) sample.roles[role] = { cpu: Math.round(cpu * 10) / 10, rssMiB: Math.round(rss * 10) / 10, pids: alive };
      rolesCpu += cpu;
      rolesRss += rss;
    }
    // Whatever else runs on the machine (other people's tests, say) competes for the same cores.
    const machine = readMachineTicks();
    const usedMiB = readUsedMemMiB();
    if (machine && this.lastMachine && machine.total > this.lastMachine.total) {
      const busy = ((machine.busy - this.lastMachine.busy) / (machine.total - this.lastMachine.total)) * this.cores * 100;
      sample.roles.other = { cpu: Math.round(Math.max(0, busy - rolesCpu) * 10) / 10, rssMiB: Math.round(Math.max(0, (usedMiB ?? 0) - rolesRss) * 10) / 10, pids: 0 };
    }
    this.lastMachine = machine;
    this.samples.push(sample);
  }

  summary(): ResourceSummary[] {
    const out: ResourceSummary[] = [];
    for (const role of ROLES) {
      // The first sample has no CPU delta yet; samples before t = 0 (start-up) are left out.
      const values = this.samples.slice(1).filter((s) => s.t >= 0).map((s) => s.roles[role]).filter((v) => v !== undefined);
      if (values.length === 0) continue;
      const cpus = values.map((v) => v.cpu);
      out.push({
        role,
        pids: [...(this.seen.get(role) ?? [])],
        cpuAvg: Math.round((cpus.reduce((a, b) => a + b, 0) / cpus.length) * 10) / 10,
        cpuMax: Math.max(...cpus),
        rssMaxMiB: Math.max(...values.map((v) => v.rssMiB)),
        rssLastMiB: values[values.length - 1]!.rssMiB,
      });
    }
    return out;
  }
}
