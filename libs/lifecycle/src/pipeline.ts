import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RestartTracker } from '@floodgate/actors';
import { FloodgateError } from '@floodgate/errors';
import { createLogger, type Logger } from '@floodgate/logging';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

type AppName = 'gateway' | 'sink';

/**
 * What runs for each app. Both are supervisors of their own processes: the gateway's entry is a
 * node:cluster primary that restarts a gateway process that dies; the sink runs under the sink
 * supervisor (docs/sink.md, "Scaling"), which restarts a sink process that dies, SINK_PROCESSES of
 * them (default 1). The pipeline in turn restarts either of these two if it dies.
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const ENTRIES: Record<AppName, string> = {
  gateway: `apps/gateway/src/main.${FROM_SOURCE ? 'ts' : 'js'}`,
  sink: `apps/sink-worker/src/supervisor-main.${FROM_SOURCE ? 'ts' : 'js'}`,
};
/** From source the apps run under tsx; the compiled image (deploy/docker) has plain JavaScript. */
const LOADER_ARGS = FROM_SOURCE ? ['--import', 'tsx'] : [];

/**
 * Restarts of the gateway primary or the sink supervisor: never given up (every process is
 * restarted when it dies), backing off up to 30 s while it keeps dying; one that stayed up for a
 * minute starts again from the first delay.
 */
const RESTART_POLICY = { maxRestarts: Number.MAX_SAFE_INTEGER, withinMs: 60_000, backoff: { initialMs: 500, maxMs: 30_000 } };

export interface PipelineOptions {
  /** Extra environment for gateway and sink (topic, database, ports...). */
  env?: NodeJS.ProcessEnv;
  /** Where the apps' JSON log lines go (and the pipeline's own, as app `pipeline`); default: this process's stdout. */
  onLogLine?: (app: string, line: string) => void;
  startTimeoutMs?: number;
  /** Start only these apps (default both); readiness waits only for them. */
  apps?: AppName[];
}

export interface RunningPipeline {
  gatewayUrl: string;
  /** The gateway's admin port: /healthz, /readyz, /metrics. */
  adminUrl: string;
  /**
   * Current pids of the started apps: the gateway's cluster primary and the sink supervisor (each
   * the parent of its processes). Read again after a restart: a restarted app has a new pid.
   */
  readonly pids: Partial<Record<AppName, number>>;
  /** How often the pipeline restarted an app since it started. */
  restarts(app: AppName): number;
  /**
   * Resolves with an app's exit code once it exited for good: it exited 0 (stopped on purpose,
   * e.g. SIGTERM) or the pipeline was stopped. A crash (non-zero code, killed by a signal) is
   * restarted instead. null when killed by a signal.
   */
  exitCode(app: AppName): Promise<number | null>;
  /** SIGTERM to both apps, then wait until they exited (SIGKILL after the bound). */
  stop(): Promise<void>;
}

/** One app, restarted by the pipeline when it dies once the pipeline runs. */
class SupervisedApp {
  child!: ChildProcess;
  /** Exit of the current child. */
  exited!: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  restarts = 0;
  /** Set once the pipeline started: from then on a crash is restarted, not reported as a start failure. */
  supervising = false;
  stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly tracker = new RestartTracker(RESTART_POLICY);
  private settle: (code: number | null) => void = () => {};
  /** Resolves once the app exited and will not be restarted. */
  readonly final = new Promise<number | null>((resolve) => (this.settle = resolve));

  constructor(
    readonly name: AppName,
    private readonly options: PipelineOptions,
    private readonly onLine: (line: string) => void,
    private readonly logger: Logger,
  ) {
    this.spawn();
  }

  private spawn(): void {
    const child = spawn(process.execPath, [...LOADER_ARGS, path.join(REPO_ROOT, ENTRIES[this.name])], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.options.env },
      // The IPC channel lets the app notice when this process dies and stop instead of lingering.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const log = this.options.onLogLine ?? ((_app: string, line: string) => process.stdout.write(`${line}\n`));
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => {
        this.onLine(line);
        log(this.name, line);
      });
    }
    this.child = child;
    this.tracker.started();
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then(({ code, signal }) => this.onExit(child, code, signal));
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    const what = { app: this.name, pid: child.pid, code, signal };
    if (this.stopping || !this.supervising) return this.settle(code);
    if (code === 0) {
      // It was told to stop (SIGTERM, SIGINT) and did so cleanly: that is not a death.
      this.logger.info(what, `${this.name} exited cleanly; not restarting it`);
      return this.settle(code);
    }
    const decision = this.tracker.failed();
    const delayMs = decision.restart ? decision.delayMs : RESTART_POLICY.backoff.maxMs;
    this.logger.error({ ...what, restartInMs: delayMs, restarts: this.restarts }, `${this.name} died; restarting it`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return this.settle(code);
      this.restarts++;
      this.spawn();
      this.logger.info({ app: this.name, pid: this.child.pid, restarts: this.restarts }, `${this.name} restarted`);
    }, delayMs);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
      this.settle(this.child.exitCode);
      return;
    }
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Runs gateway and sink as child processes and resolves once the gateway listens and the sink
 * consumes (both say so in their logs), so callers never race the start-up. From then on every
 * process is supervised: the gateway primary restarts its processes, the sink supervisor its sink
 * processes, and this pipeline restarts either of those two, with backoff, if it dies.
 */
export async function startPipeline(options: PipelineOptions = {}): Promise<RunningPipeline> {
  let gatewayPort: number | undefined;
  let adminPort: number | undefined;
  let sinkReady = false;
  let wake: () => void = () => {};
  const watch = (line: string): void => {
    if (!line.startsWith('{')) return;
    try {
      const entry = JSON.parse(line) as { msg?: string; port?: number; adminPort?: number };
      if (entry.msg === 'gateway listening' && typeof entry.port === 'number') {
        gatewayPort = entry.port;
        adminPort = entry.adminPort;
      }
      if (entry.msg === 'sink consuming') sinkReady = true;
      wake();
    } catch {
      // not one of our JSON lines
    }
  };
  const sendLine = options.onLogLine ?? ((_app: string, line: string) => process.stdout.write(`${line}\n`));
  const logger = createLogger('floodgate-start', {}, { write: (chunk: string) => sendLine('pipeline', chunk.replace(/\n$/, '')) });
  const wanted = options.apps ?? ['gateway', 'sink'];
  if (!wanted.includes('sink')) sinkReady = true;
  const apps: SupervisedApp[] = [];
  if (wanted.includes('gateway')) apps.push(new SupervisedApp('gateway', options, watch, logger));
  if (wanted.includes('sink')) {
    apps.push(new SupervisedApp('sink', options, watch, logger));
    logger.info(
      { app: 'sink', supervisor: ENTRIES.sink, pid: apps.at(-1)!.child.pid },
      'sink runs under its supervisor: a sink process that dies is restarted with backoff',
    );
  }
  const stop = async () => {
    await Promise.all(apps.map((a) => a.stop(20_000)));
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  let exitedEarly: { app: string; code: number | null } | undefined;
  for (const app of apps) {
    void app.exited.then(({ code }) => {
      if (app.supervising || exitedEarly) return;
      exitedEarly = { app: app.name, code };
      wake();
    });
  }
  if (!wanted.includes('gateway')) gatewayPort = 0;
  while ((gatewayPort === undefined || !sinkReady) && !exitedEarly && Date.now() < deadline) {
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, 250);
    });
  }
  if (gatewayPort === undefined || !sinkReady || exitedEarly) {
    await stop();
    const why = exitedEarly ? `${exitedEarly.app} exited with code ${exitedEarly.code}` : 'timed out';
    throw new FloodgateError('STACK_START_FAILED', `the pipeline did not start: ${why} (see its log lines above)`);
  }
  for (const app of apps) app.supervising = true;
  logger.info(
    { apps: apps.map((a) => ({ app: a.name, pid: a.child.pid })) },
    'pipeline running: the gateway primary and the sink supervisor restart their processes, and are restarted if they die',
  );
  const host = options.env?.GATEWAY_HOST ?? process.env.GATEWAY_HOST ?? '127.0.0.1';
  const adminHost = options.env?.ADMIN_HOST ?? process.env.ADMIN_HOST ?? '127.0.0.1';
  const byName = (name: AppName) => apps.find((a) => a.name === name);
  const pids: RunningPipeline['pids'] = {};
  for (const app of apps) Object.defineProperty(pids, app.name, { enumerable: true, get: () => app.child.pid });
  return {
    gatewayUrl: clientUrl(host, gatewayPort),
    adminUrl: clientUrl(adminHost, adminPort ?? 0),
    pids,
    restarts: (name) => byName(name)?.restarts ?? 0,
    exitCode: (name) => byName(name)?.final ?? Promise.resolve(null),
    stop,
  };
}

/**
 * The URL a client on this machine uses for a listener: an any-address (0.0.0.0, ::) is reached on
 * loopback, an IPv6 literal is bracketed (`http://:::9090` is no URL).
 */
export function clientUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}
