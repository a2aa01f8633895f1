import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FloodgateError } from '@floodgate/errors';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

export interface PipelineOptions {
  /** Extra environment for gateway and sink (topic, database, ports...). */
  env?: NodeJS.ProcessEnv;
  /** Where the apps' JSON log lines go; default: this process's stdout. */
  onLogLine?: (app: string, line: string) => void;
  startTimeoutMs?: number;
  /** Start only these apps (default both); readiness waits only for them. */
  apps?: ('gateway' | 'sink')[];
}

export interface RunningPipeline {
  gatewayUrl: string;
  /** The gateway's admin port: /healthz, /readyz, /metrics. */
  adminUrl: string;
  /** Pids of the started apps (the gateway's is its cluster primary). */
  pids: Partial<Record<'gateway' | 'sink', number>>;
  /** Resolves with an app's exit code once it exited (null when killed by a signal). */
  exitCode(app: 'gateway' | 'sink'): Promise<number | null>;
  /** SIGTERM to both apps, then wait until they exited (SIGKILL after the bound). */
  stop(): Promise<void>;
}

interface AppProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

function startApp(name: string, entry: string, options: PipelineOptions, onLine: (line: string) => void): AppProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, entry)], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    // The IPC channel lets the app notice when this process dies and stop instead of lingering.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const log = options.onLogLine ?? ((_app: string, line: string) => process.stdout.write(`${line}\n`));
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => {
      onLine(line);
      log(name, line);
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, exited };
}

async function stopApp(app: AppProcess, timeoutMs: number): Promise<void> {
  if (app.child.exitCode !== null || app.child.signalCode !== null) return;
  app.child.kill('SIGTERM');
  const timer = setTimeout(() => app.child.kill('SIGKILL'), timeoutMs);
  await app.exited;
  clearTimeout(timer);
}

/**
 * Runs gateway and sink as child processes and resolves once the gateway listens and the sink
 * consumes (both say so in their logs), so callers never race the start-up.
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
  const wanted = options.apps ?? ['gateway', 'sink'];
  if (!wanted.includes('sink')) sinkReady = true;
  const apps = [
    ...(wanted.includes('gateway') ? [startApp('gateway', 'apps/gateway/src/main.ts', options, watch)] : []),
    ...(wanted.includes('sink') ? [startApp('sink', 'apps/sink-worker/src/main.ts', options, watch)] : []),
  ];
  const stop = async () => {
    await Promise.all(apps.map((a) => stopApp(a, 20_000)));
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  const early = Promise.race(apps.map((a) => a.exited.then((code) => ({ app: a.name, code }))));
  let exitedEarly: { app: string; code: number | null } | undefined;
  void early.then((e) => {
    exitedEarly = e;
    wake();
  });
  if (!wanted.includes('gateway')) gatewayPort = 0;
  while ((gatewayPort === undefined || !sinkReady) && !exitedEarly && Date.now() < deadline) {
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, 250);
    });
  }
  if (gatewayPort === undefined || !sinkReady) {
    await stop();
    const why = exitedEarly ? `${exitedEarly.app} exited with code ${exitedEarly.code}` : 'timed out';
    throw new FloodgateError('STACK_START_FAILED', `the pipeline did not start: ${why} (see its log lines above)`);
  }
  const host = options.env?.GATEWAY_HOST ?? process.env.GATEWAY_HOST ?? '127.0.0.1';
  const adminHost = options.env?.ADMIN_HOST ?? process.env.ADMIN_HOST ?? '127.0.0.1';
  const pids: RunningPipeline['pids'] = {};
  for (const app of apps) pids[app.name as 'gateway' | 'sink'] = app.child.pid;
  const exitCode = (name: 'gateway' | 'sink') => apps.find((a) => a.name === name)?.exited ?? Promise.resolve(null);
  return { gatewayUrl: `http://${host}:${gatewayPort}`, adminUrl: `http://${adminHost}:${adminPort}`, pids, exitCode, stop };
}
