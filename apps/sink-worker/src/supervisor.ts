import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Admin } from 'kafkajs';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { RestartTracker } from '@floodgate/actors';
import { FloodgateError } from '@floodgate/errors';
import { consumerLag } from '@floodgate/kafka';
import type { Logger } from '@floodgate/logging';
import { JsonBucket, serveRequests, type NatsConnection } from '@floodgate/nats';
import {
  memberKeys,
  sinkControlPlane,
  type MemberRecord,
  type SupervisorCommand,
  type SupervisorCommandResult,
  type SupervisorRecord,
  type SupervisorWorker,
} from '@floodgate/sink-protocol';
import { startAdminServer, type SinkAdminServer } from './admin-server.ts';
import { decideScale, pruneSamples, type LagSample } from './autoscale.ts';
import type { SupervisorConfig } from './config.ts';
import { DRAINED_MESSAGE } from './ipc.ts';


/** main.ts from source, main.js in the compiled image (deploy/docker). */
const WORKER_ENTRY = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './main.ts' : './main.js', import.meta.url));

interface Slot {
  slot: number;
  worker: Worker | undefined;
  state: SupervisorWorker['state'];
  restarts: number;
  tracker: RestartTracker;
  /** Told to stop (scale-down, shutdown): its exit is not a crash. */
  stopping: boolean;
  /** It drained on command: it leaves for good and the desired count shrinks by one. */
  drained: boolean;
  restartTimer?: NodeJS.Timeout;
}

export interface SinkSupervisor {
  readonly id: string;
  start(): Promise<void>;
  /** Fixed mode with `processes` sink processes (auto mode off). */
  scale(processes: number, reason?: string): SupervisorCommandResult;
  /** Auto mode: between min and max processes, from measured consumer lag. */
  setAuto(min: number, max: number): SupervisorCommandResult;
  record(): SupervisorRecord;
  /** Drains every sink process and waits for them to exit. */
  stop(): Promise<void>;
}

export interface SupervisorDeps {
  nc: NatsConnection;
  kafkaAdmin: Admin;
  logger: Logger;
  /** The sink process entry; default apps/sink-worker/src/main.ts. */
  workerEntry?: string;
}

/**
 * The sink supervisor (docs/sink.md, "Scaling"): a node:cluster primary, one per host, running N
 * sink processes. It restarts a process that dies (backoff; past SINK_WORKER_MAX_RESTARTS within the
 * window, once a minute), grows or shrinks the count on `floodgate sink scale N`, or by itself from consumer
 * lag in auto mode, and serves the sum of its processes' metrics on its admin port.
 */
/** The pause between restarts of a process that failed more than SINK_WORKER_MAX_RESTARTS times in the window. */
const CRASH_LOOP_DELAY_MS = 60_000;

export function createSinkSupervisor(config: SupervisorConfig, deps: SupervisorDeps): SinkSupervisor {
  const { nc, kafkaAdmin, logger } = deps;
  const id = config.SINK_SUPERVISOR_ID;
  const plane = sinkControlPlane(config.SINK_NATS_PREFIX);
  const slots = new Map<number, Slot>();
  let desired = config.SINK_AUTOSCALE ? config.SINK_AUTOSCALE.min : config.SINK_PROCESSES;
  let mode: 'fixed' | 'auto' = config.SINK_AUTOSCALE ? 'auto' : 'fixed';
  let auto = config.SINK_AUTOSCALE ? { ...config.SINK_AUTOSCALE } : undefined;
  let lastScale: SupervisorRecord['lastScale'];
  let lastChangeAt: number | undefined;
  let samples: LagSample[] = [];
  let stopping = false;
  let members: JsonBucket<MemberRecord> | undefined;
  let adminServer: SinkAdminServer | undefined;
  const timers: NodeJS.Timeout[] = [];
  const ownRegistry = new Registry();
  const processesGauge = new Gauge({ name: 'floodgate_sink_supervisor_processes', help: 'Sink processes running (desired: label state=desired)', labelNames: ['state'], registers: [ownRegistry] });
  const processRestarts = new Counter({
    name: 'floodgate_sink_process_restarts_total',
    help: 'Sink processes that exited unexpectedly and were restarted by the supervisor',
    registers: [ownRegistry],
  });
  const aggregator = new AggregatorRegistry();

  const policy = {
    maxRestarts: config.SINK_WORKER_MAX_RESTARTS,
    withinMs: config.SINK_WORKER_RESTART_WINDOW_MS,
    backoff: { initialMs: 500, maxMs: 10_000 },
  };

  function fork(slot: Slot): void {
    slot.state = slot.restarts > 0 ? 'restarting' : 'starting';
    const worker = cluster.fork({ SINK_SUPERVISOR_ID: id });
    slot.worker = worker;
    slot.tracker.started();
    worker.on('message', (message: unknown) => {
      if ((message as { type?: unknown })?.type === DRAINED_MESSAGE) slot.drained = true;
    });
    worker.on('online', () => {
      if (slot.worker === worker) slot.state = 'running';
    });
    worker.on('exit', (code, signal) => onExit(slot, worker, code, signal));
    logger.info({ slot: slot.slot, pid: worker.process.pid }, 'sink process started');
  }

  function onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    const pid = worker.process.pid;
    if (stopping || slot.stopping) {
      slots.delete(slot.slot);
      logger.info({ slot: slot.slot, pid, code, signal }, 'sink process stopped');
      return;
    }
    if (slot.drained && code === 0) {
      slots.delete(slot.slot);
      const from = desired;
      desired = Math.max(0, desired - 1);
      lastScale = { at: new Date().toISOString(), from, to: desired, reason: `process ${pid} drained on command` };
      logger.info({ slot: slot.slot, pid, desired }, 'sink process drained on command; not replaced');
      return;
    }
    const decision = slot.tracker.failed();
    // Past the restart budget a process is not abandoned (nothing may need a human to resume): it
    // is retried at the slowest pace, and said so loudly each time.
    const delayMs = decision.restart ? decision.delayMs : CRASH_LOOP_DELAY_MS;
    slot.restarts++;
    processRestarts.inc();
    slot.state = 'restarting';
    if (decision.restart) logger.warn({ slot: slot.slot, pid, code, signal, delayMs }, 'sink process exited unexpectedly; restarting');
    else logger.error({ slot: slot.slot, pid, code, signal, failures: decision.failures, delayMs }, 'sink process keeps failing; restarting it at the slowest pace');
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!stopping && !slot.stopping) fork(slot);
    }, delayMs);
  }

  function stopSlot(slot: Slot): void {
    slot.stopping = true;
    slot.state = 'stopping';
    if (slot.restartTimer) {
      clearTimeout(slot.restartTimer);
      slots.delete(slot.slot);
      return;
    }
    const worker = slot.worker;
    if (!worker) {
      slots.delete(slot.slot);
      return;
    }
    // SIGTERM: the process drains (flush, commit, leave the group) and exits.
    worker.process.kill('SIGTERM');
    const killer = setTimeout(() => {
      if (slot.worker === worker) worker.process.kill('SIGKILL');
    }, config.SINK_SHUTDOWN_TIMEOUT_MS + 5000);
    killer.unref();
  }

  function reconcile(): void {
    if (stopping) return;
    const live = [...slots.values()].filter((s) => !s.stopping);
    if (live.length < desired) {
      for (let n = live.length; n < desired; n++) {
        let number = 0;
        while (slots.has(number)) number++;
        const slot: Slot = { slot: number, worker: undefined, state: 'starting', restarts: 0, tracker: new RestartTracker(policy), stopping: false, drained: false };
        slots.set(number, slot);
        fork(slot);
      }
    } else if (live.length > desired) {
      // The newest slots go first.
      for (const slot of live.sort((a, b) => b.slot - a.slot).slice(0, live.length - desired)) stopSlot(slot);
    }
    processesGauge.set({ state: 'desired' }, desired);
  }

  function change(to: number, reason: string): void {
    const from = desired;
    desired = to;
    if (from !== to) {
      lastChangeAt = Date.now();
      lastScale = { at: new Date().toISOString(), from, to, reason };
      logger.info({ from, to, reason, mode }, 'scaling sink processes');
    }
    reconcile();
  }

  function result(previous: number): SupervisorCommandResult {
    return auto && mode === 'auto' ? { supervisor: id, mode, desired, previous, auto } : { supervisor: id, mode, desired, previous };
  }

  function scale(processes: number, reason = 'sink scale command'): SupervisorCommandResult {
    if (!Number.isInteger(processes) || processes < 0 || processes > 64) {
      throw new FloodgateError('CONTROL_FAILED', `scale needs a whole number of processes between 0 and 64 (got ${processes})`);
    }
    const previous = desired;
    mode = 'fixed';
    auto = undefined;
    samples = [];
    change(processes, reason);
    return result(previous);
  }

  function setAuto(min: number, max: number): SupervisorCommandResult {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min || max > 64) {
      throw new FloodgateError('CONTROL_FAILED', `auto scaling needs 1 <= MIN <= MAX <= 64 (got ${min}..${max})`);
    }
    const previous = desired;
    mode = 'auto';
    auto = { min, max };
    samples = [];
    const clamped = Math.min(max, Math.max(min, desired));
    change(clamped, `auto mode ${min}..${max}`);
    return result(previous);
  }

  async function autoscaleTick(): Promise<void> {
    if (mode !== 'auto' || !auto || stopping) return;
    const lags = await consumerLag(kafkaAdmin, config.SINK_GROUP_ID, config.KAFKA_TOPIC);
    const now = Date.now();
    const total = lags.reduce((n, p) => n + p.lag, 0);
    samples.push({ at: now, lag: total });
    const settings = {
      min: auto.min,
      max: auto.max,
      partitions: lags.length,
      upLag: config.SINK_AUTOSCALE_UP_LAG,
      upSustainMs: config.SINK_AUTOSCALE_UP_SUSTAIN_MS,
      downLag: config.SINK_AUTOSCALE_DOWN_LAG,
      downSustainMs: config.SINK_AUTOSCALE_DOWN_SUSTAIN_MS,
      cooldownMs: config.SINK_AUTOSCALE_COOLDOWN_MS,
    };
    samples = pruneSamples(samples, now, settings);
    const decision = decideScale(settings, desired, samples, lastChangeAt, now);
    if (decision) {
      change(decision.target, `auto: ${decision.reason}`);
      samples = [];
    }
  }

  function record(): SupervisorRecord {
    const workers: SupervisorWorker[] = [...slots.values()]
      .sort((a, b) => a.slot - b.slot)
      .map((s) => ({ slot: s.slot, pid: s.worker?.process.pid ?? null, state: s.state, restarts: s.restarts }));
    processesGauge.set({ state: 'running' }, workers.filter((w) => w.state === 'running').length);
    const out: SupervisorRecord = {
      kind: 'supervisor',
      id,
      host: os.hostname(),
      pid: process.pid,
      group: config.SINK_GROUP_ID,
      topic: config.KAFKA_TOPIC,
      mode,
      desired,
      workers,
      heartbeatAt: new Date().toISOString(),
    };
    if (auto) out.auto = auto;
    if (lastScale) out.lastScale = lastScale;
    if (adminServer) out.adminPort = adminServer.port;
    return out;
  }

  async function beat(): Promise<void> {
    await members?.put(memberKeys.supervisor(id), record()).catch((error: unknown) => logger.warn({ err: error }, 'supervisor heartbeat failed'));
  }

  return {
    id,
    record,
    scale,
    setAuto,
    async start() {
      cluster.setupPrimary({ exec: deps.workerEntry ?? WORKER_ENTRY, execArgv: process.execArgv, silent: false });
      members = await JsonBucket.open<MemberRecord>(nc, plane.membersBucket, { ttlMs: config.SINK_MEMBER_TTL_MS });
      serveRequests(
        nc,
        plane.supervisorSubject(id),
        async (request) => {
          const command = request as SupervisorCommand;
          let outcome: SupervisorCommandResult;
          if (command.cmd === 'scale') outcome = scale(Number(command.processes));
          else if (command.cmd === 'auto') outcome = setAuto(Number(command.min), Number(command.max));
          else if (command.cmd === 'ping') outcome = result(desired);
          else throw new FloodgateError('CONTROL_FAILED', `unknown command ${JSON.stringify((command as { cmd?: unknown }).cmd)}`);
          void beat();
          return outcome;
        },
        logger,
      );
      adminServer = await startAdminServer({
        host: config.SINK_ADMIN_HOST,
        port: config.SINK_ADMIN_PORT,
        metrics: async () => {
          const [workers, own] = await Promise.all([aggregator.clusterMetrics(), ownRegistry.metrics()]);
          return { body: `${workers}\n${own}`, contentType: aggregator.contentType };
        },
        readiness: () => ({ ready: !stopping, checks: { stopping, processes_running: [...slots.values()].filter((s) => s.state === 'running').length } }),
        adminToken: config.FLOODGATE_ADMIN_TOKEN,
        logger,
      }).catch((error: unknown) => {
        logger.error({ err: error, port: config.SINK_ADMIN_PORT }, 'cannot start the supervisor admin endpoint (/metrics); continuing without it');
        return undefined;
      });
      reconcile();
      const heartbeat = setInterval(() => void beat(), config.SINK_MEMBER_HEARTBEAT_MS);
      const autoscale = setInterval(() => {
        autoscaleTick().catch((error: unknown) => logger.warn({ err: error }, 'cannot measure consumer lag for auto scaling'));
      }, config.SINK_AUTOSCALE_INTERVAL_MS);
      timers.push(heartbeat, autoscale);
      await beat();
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      for (const timer of timers) clearInterval(timer);
      const exits = [...slots.values()].map(
        (slot) =>
          new Promise<void>((resolve) => {
            if (!slot.worker) return resolve();
            slot.worker.once('exit', () => resolve());
          }),
      );
      for (const slot of [...slots.values()]) stopSlot(slot);
      await Promise.all(exits);
      await members?.delete(memberKeys.supervisor(id)).catch(() => {});
      await adminServer?.close();
    },
  };
}
