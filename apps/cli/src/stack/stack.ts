/**
 * `stack up | down | status` as functions. Our processes are recognised by their command line
 * (which names a path under FLOODGATE_HOME), never by pid alone, so a recycled pid is never taken
 * for ours and a lost pid file does not leave a server unmanaged.
 */
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureStackCredentials, readStackCredentials, withStackCredentials, type StackConfig, type StackCredentials } from '@floodgate/config';
import { FloodgateError, isFloodgateError } from '@floodgate/errors';
import { stackPaths, type ServerName } from './paths.ts';
import {
  describeProcess,
  findProcesses,
  isAlive,
  isPortFree,
  lastLogLine,
  listenersOf,
  readCmdline,
  readPidFile,
  removePidFile,
  spawnDetached,
  stopProcess,
  withLock,
  writePidFile,
} from './procs.ts';
import { serverPlans, type ServerPlan } from './servers.ts';

export interface ServerStatus {
  name: ServerName;
  /** Where clients reach it. */
  address: string;
  /** Our process, or null when it is external or not running. */
  pid: number | null;
  /** A server we did not start (configured elsewhere, or found already answering). */
  external: boolean;
  healthy: boolean;
  /** Our log file (null for external servers). */
  log: string | null;
  /** Why it is unhealthy, or a warning about a healthy one. */
  note?: string;
}

export interface StackStatus {
  home: string;
  servers: ServerStatus[];
}

export type UpAction = 'started' | 'running' | 'adopted' | 'external';
export type DownAction = 'stopped' | 'killed' | 'not running' | 'external';

export interface StackUpResult extends StackStatus {
  actions: Record<ServerName, UpAction>;
}

export interface StackDownResult {
  home: string;
  servers: { name: ServerName; pid: number | null; action: DownAction }[];
}

export interface StackOptions {
  /** Progress lines ("kafka: starting ..."); default: none. */
  say?: (line: string) => void;
}

const STATUS_CHECK_MS = 3_000;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/** Our live process for this plan: from the pid file, else found by command line. */
function findOurs(plan: ServerPlan): { pid: number; fromPidFile: boolean; stalePidFile: boolean } | undefined {
  const recorded = readPidFile(plan.pidFile);
  if (recorded !== undefined) {
    const argv = readCmdline(recorded);
    if (argv && isAlive(recorded) && plan.isOurs(argv)) return { pid: recorded, fromPidFile: true, stalePidFile: false };
  }
  const found = findProcesses(plan.isOurs)[0];
  if (found) return { pid: found.pid, fromPidFile: false, stalePidFile: recorded !== undefined };
  return undefined;
}

async function healthOf(plan: ServerPlan, timeoutMs: number): Promise<{ healthy: boolean; note?: string }> {
  try {
    const warning = await plan.check(timeoutMs);
    return warning ? { healthy: true, note: warning } : { healthy: true };
  } catch (error) {
    return { healthy: false, note: errorText(error) };
  }
}

/** Polls `plan.check` until it passes, the process dies, or the time is up. */
async function waitReady(plan: ServerPlan, pid: number, exited: () => boolean, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'not checked yet';
  for (;;) {
    if (exited() || !isAlive(pid)) {
      throw new FloodgateError('STACK_START_FAILED', `${plan.name} exited before it became ready: ${await lastLogLine(plan.logFile)}; see ${plan.logFile}`, {
        context: { server: plan.name, log: plan.logFile },
      });
    }
    const left = deadline - Date.now();
    try {
      return await plan.check(Math.max(1_000, Math.min(5_000, left)));
    } catch (error) {
      lastError = errorText(error);
    }
    if (Date.now() >= deadline) {
      throw new FloodgateError(
        'STACK_START_FAILED',
        `${plan.name} did not become ready at ${plan.address} within ${Math.round(timeoutMs / 1000)} s (last check: ${lastError}); see ${plan.logFile}`,
        { context: { server: plan.name, log: plan.logFile }, retriable: true },
      );
    }
    await sleep(300);
  }
}

/**
 * `ownPlan()`: the same server as we run it, demanding this home's credentials (generated on first
 * use). Used for a server that is ours or that we start; `plan` (the configuration as loaded) for
 * one someone else runs.
 */
async function upOne(
  plan: ServerPlan,
  ownPlan: () => ServerPlan,
  config: StackConfig,
  say: (line: string) => void,
): Promise<{ action: UpAction; note?: string; own: boolean }> {
  const timeoutMs = config.STACK_START_TIMEOUT_MS;
  const ours = findOurs(plan);
  if (ours) {
    plan = ownPlan();
    if (!ours.fromPidFile) {
      writePidFile(plan.pidFile, ours.pid);
      say(`${plan.name}: found our process ${ours.pid} without its pid file; recorded it again`);
    }
    // First, whether it runs without (or with other) credentials: then it must start again with
    // this home's (an upgrade from before credentials.json). A server not answering yet is not
    // stale; waitReady below decides about it.
    const stale = await plan.staleReason?.(Math.min(timeoutMs, 5_000)).catch(() => undefined);
    if (stale === undefined) {
      const note = await waitReady(plan, ours.pid, () => false, timeoutMs);
      return { action: ours.fromPidFile ? 'running' : 'adopted', own: true, ...(note ? { note } : {}) };
    }
    say(`${plan.name}: restarting pid ${ours.pid}: ${stale}`);
    await stopProcess(ours.pid, plan.isOurs, plan.stopGraceMs);
    removePidFile(plan.pidFile);
  }
  if (readPidFile(plan.pidFile) !== undefined) {
    removePidFile(plan.pidFile);
    say(`${plan.name}: removed a stale pid file (its pid is gone or runs something else now)`);
  }

  if (plan.configuredExternal) {
    const health = await healthOf(plan, Math.min(timeoutMs, 10_000));
    if (!health.healthy) {
      throw new FloodgateError('STACK_START_FAILED', `${plan.name} at ${plan.address} (external: ${plan.configuredExternal}) does not answer: ${health.note}`, {
        context: { server: plan.name },
        retriable: true,
      });
    }
    return { action: 'external', own: false, ...(health.note ? { note: health.note } : {}) };
  }

  // Something that is not ours on the client port: use it if it is the right kind of server,
  // otherwise refuse rather than start a second one beside it.
  const main = plan.binds[0]!;
  if (!(await isPortFree(main.host, main.port))) {
    const health = await healthOf(plan, STATUS_CHECK_MS);
    const owners = listenersOf(main.port).map(describeProcess).join(', ') || 'a process we cannot see';
    if (health.healthy) {
      say(`${plan.name}: a server not started by floodgate already answers on ${plan.address} (${owners}); using it as external`);
      return { action: 'external', own: false, ...(health.note ? { note: health.note } : {}) };
    }
    throw new FloodgateError(
      'STACK_START_FAILED',
      `${plan.name}: ${main.host}:${main.port} (${main.role}) is already in use by ${owners}, which does not answer as ${plan.name} (${health.note}); stop it or choose another port`,
      { context: { server: plan.name, port: main.port } },
    );
  }
  for (const bind of plan.binds.slice(1)) {
    if (!(await isPortFree(bind.host, bind.port))) {
      const owners = listenersOf(bind.port).map(describeProcess).join(', ') || 'a process we cannot see';
      throw new FloodgateError('STACK_START_FAILED', `${plan.name}: ${bind.host}:${bind.port} (${bind.role}) is already in use by ${owners}`, {
        context: { server: plan.name, port: bind.port },
      });
    }
  }

  plan = ownPlan();
  const spec = await plan.prepare(say);
  say(`${plan.name}: starting on ${plan.address} (log: ${plan.logFile})`);
  const started = Date.now();
  const child = await spawnDetached(plan.name, spec, plan.logFile);
  writePidFile(plan.pidFile, child.pid);
  try {
    const note = await waitReady(plan, child.pid, child.exited, timeoutMs);
    say(`${plan.name}: ready after ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${child.pid})`);
    return { action: 'started', own: true, ...(note ? { note } : {}) };
  } catch (error) {
    // Leave nothing half-started behind.
    await stopProcess(child.pid, plan.isOurs, 5_000).catch(() => {});
    removePidFile(plan.pidFile);
    throw error;
  }
}

function lockTimeout(config: StackConfig): number {
  return Math.max(config.STACK_START_TIMEOUT_MS * 3, 5 * 60_000);
}

/**
 * Starts whatever of Kafka, NATS and ClickHouse is not already running, and waits until each one
 * answers a real request. Idempotent. Rejects with STACK_START_FAILED (naming the server and its
 * log) or STACK_DEPENDENCY_MISSING; servers that did come up are left running.
 */
export async function stackUp(config: StackConfig, options: StackOptions = {}): Promise<StackUpResult> {
  const say = options.say ?? (() => {});
  const paths = stackPaths(config.FLOODGATE_HOME, config.FLOODGATE_CACHE);
  for (const dir of [paths.logs, paths.run, paths.data, paths.cache, paths.config]) mkdirSync(dir, { recursive: true });
  const plans = serverPlans(config);
  const { results, credentials } = await withLock(
    paths.lock,
    lockTimeout(config),
    (holder) => say(`waiting for another floodgate stack command (pid ${holder}) to finish`),
    async () => {
      // NATS and the embedded ClickHouse we run ourselves demand credentials, generated once per
      // home (under the lock, so two `stack up` agree) when first needed, and read by every process
      // of the home (libs/config). Servers someone else runs are checked as configured.
      let ensured: StackCredentials | undefined;
      const ownPlan = (name: ServerName) => () => {
        if (!ensured) {
          const result = ensureStackCredentials(paths.home);
          if (result.created) say(`generated credentials for NATS and ClickHouse in ${result.file} (mode 0600)`);
          ensured = result.credentials;
        }
        return serverPlans(withStackCredentials(config, ensured), ensured).find((p) => p.name === name)!;
      };
      const settled = await Promise.allSettled(plans.map((plan) => upOne(plan, plan.name.startsWith('kafka') ? () => plan : ownPlan(plan.name), config, say)));
      return { results: settled, credentials: ensured };
    },
  );
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    const first = failures[0];
    if (failures.length === 1) throw first;
    const code = failures.every((f) => isFloodgateError(f) && f.code === 'STACK_DEPENDENCY_MISSING') ? 'STACK_DEPENDENCY_MISSING' : 'STACK_START_FAILED';
    throw new FloodgateError(code, failures.map(errorText).join('; '), { cause: first });
  }
  const actions = {} as Record<ServerName, UpAction>;
  const notes = new Map<ServerName, string>();
  const own = { nats: false, clickhouse: false };
  plans.forEach((plan, i) => {
    const r = results[i] as PromiseFulfilledResult<{ action: UpAction; note?: string; own: boolean }>;
    actions[plan.name] = r.value.action;
    if (r.value.note) notes.set(plan.name, r.value.note);
    if (r.value.own && (plan.name === 'nats' || plan.name === 'clickhouse')) own[plan.name] = true;
  });
  const status = await stackStatus(credentials ? withStackCredentials(config, credentials, own) : config);
  for (const server of status.servers) {
    const note = notes.get(server.name);
    if (note && !server.note) server.note = note;
  }
  return { ...status, actions };
}

/**
 * Stops exactly the servers `stackUp` started for this FLOODGATE_HOME (SIGTERM, then SIGKILL after a
 * bound) and removes their pid files. External servers are never touched.
 */
export async function stackDown(config: StackConfig, options: StackOptions = {}): Promise<StackDownResult> {
  const say = options.say ?? (() => {});
  const paths = stackPaths(config.FLOODGATE_HOME, config.FLOODGATE_CACHE);
  const plans = serverPlans(config);
  const servers = await withLock(
    paths.lock,
    lockTimeout(config),
    (holder) => say(`waiting for another floodgate stack command (pid ${holder}) to finish`),
    () =>
      Promise.all(
        plans.map(async (plan) => {
          const recorded = readPidFile(plan.pidFile);
          const pids = new Set<number>();
          if (recorded !== undefined) {
            const argv = readCmdline(recorded);
            if (argv && isAlive(recorded) && plan.isOurs(argv)) pids.add(recorded);
          }
          for (const p of findProcesses(plan.isOurs)) pids.add(p.pid);
          if (pids.size === 0) {
            removePidFile(plan.pidFile);
            // Something not ours on our port is someone else's server: left alone, and said so.
            const main = plan.binds[0]!;
            const external = plan.configuredExternal !== undefined || !(await isPortFree(main.host, main.port));
            return { name: plan.name, pid: null, action: (external ? 'external' : 'not running') as DownAction };
          }
          let action: DownAction = 'stopped';
          for (const pid of pids) {
            say(`${plan.name}: stopping pid ${pid}`);
            const outcome = await stopProcess(pid, plan.isOurs, plan.stopGraceMs);
            if (outcome === 'killed') {
              action = 'killed';
              say(`${plan.name}: pid ${pid} ignored SIGTERM for ${plan.stopGraceMs / 1000} s; killed it`);
            }
          }
          removePidFile(plan.pidFile);
          return { name: plan.name, pid: [...pids][0]!, action };
        }),
      ),
  );
  return { home: paths.home, servers };
}

/** Each server's address, our pid (or external), and whether it answers a real request now. */
export async function stackStatus(config: StackConfig): Promise<StackStatus> {
  const paths = stackPaths(config.FLOODGATE_HOME, config.FLOODGATE_CACHE);
  const plans = serverPlans(config);
  // Our own servers are checked with this home's credentials, whatever the caller loaded.
  const credentials = readStackCredentials(paths.home);
  const ownPlans = credentials ? serverPlans(withStackCredentials(config, credentials), credentials) : plans;
  const servers = await Promise.all(
    plans.map(async (plan, i): Promise<ServerStatus> => {
      const ours = plan.configuredExternal ? undefined : findOurs(plan);
      const health = await healthOf(ours ? ownPlans[i]! : plan, STATUS_CHECK_MS);
      // Not ours: a healthy server at a local address is someone else's (external); an unhealthy
      // one is simply down.
      const external = !ours && (plan.configuredExternal !== undefined || health.healthy);
      return {
        name: plan.name,
        address: plan.address,
        pid: ours?.pid ?? null,
        external,
        healthy: health.healthy,
        log: ours || (!external && !plan.configuredExternal) ? plan.logFile : null,
        ...(health.note ? { note: health.note } : {}),
      };
    }),
  );
  return { home: paths.home, servers };
}
