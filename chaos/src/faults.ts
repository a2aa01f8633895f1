/**
 * The faults: each one is injected into the running pipeline while the bench sends load, and
 * resolves when the fault is cleared (the stopped thing runs again), with what it did.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { alive, cliOk, gatewayPids, readPid, signal, sinkPids, waitFor } from './procs.ts';
import type { ChaosWorld } from './env.ts';
import type { KafkaWatch } from './kafka-watch.ts';

export interface FaultContext {
  world: ChaosWorld;
  /** pid of the `floodgate start` this suite runs (gateway and sink are under it). */
  startPid: number;
  watch: KafkaWatch;
  /** 1, 2, 3: which run of the fault (picks a different broker each run). */
  run: number;
  log: string;
}

export interface Fault {
  id: string;
  title: string;
  /** Seconds of bench load per run (the fault is injected after WARMUP_S). */
  loadSeconds: number;
  inject(ctx: FaultContext): Promise<string>;
  /** Put things back after the run's proof, when the fault leaves them changed (fault 8). */
  restore?(ctx: FaultContext): Promise<void>;
}

const pidFile = (ctx: FaultContext, name: string) => path.join(ctx.world.home, 'run', `${name}.pid`);

function stackPid(ctx: FaultContext, name: string): number {
  const pid = readPid(pidFile(ctx, name));
  if (pid === undefined || !alive(pid)) throw new Error(`${name} is not running (no live pid in ${pidFile(ctx, name)})`);
  return pid;
}

async function waitGone(pid: number, what: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(`${what} (pid ${pid}) to exit`, () => !alive(pid), timeoutMs, 100);
}

/** `floodgate stack up` starts whatever of the private stack is not running. */
const stackUp = (ctx: FaultContext) => cliOk(['stack', 'up'], ctx.world.env, ctx.log, 180_000);

const broker = (ctx: FaultContext) => `kafka-${((ctx.run - 1) % 3) + 1}`;

async function sinkCount(ctx: FaultContext, n: number): Promise<void> {
  await waitFor(`${n} sink process(es) consuming`, async () => {
    if (sinkPids(ctx.startPid).length !== n) return false;
    const status = JSON.parse(await cliOk(['status', '--json'], ctx.world.env, ctx.log, 30_000).catch(() => '{}')) as {
      processes?: { state: string; partitions: number[] }[];
    };
    const running = (status.processes ?? []).filter((p) => p.state === 'running');
    return running.length === n && running.reduce((s, p) => s + p.partitions.length, 0) === 6;
  }, 120_000, 1_000);
}

/** SIGTERM to a server of the private stack, `downForMs` down after it exited, then `stack up`. */
async function restartStackServer(ctx: FaultContext, name: string, downForMs = 0): Promise<string> {
  const pid = stackPid(ctx, name);
  const t0 = Date.now();
  signal(pid, 'SIGTERM');
  await waitGone(pid, name, 60_000);
  const exitedAfterS = ((Date.now() - t0) / 1000).toFixed(1);
  if (downForMs > 0) await sleep(downForMs);
  await stackUp(ctx);
  const down = downForMs > 0 ? `, ${downForMs / 1000} s down` : '';
  return `SIGTERM ${name} (pid ${pid}, exited after ${exitedAfterS} s)${down}, started again as pid ${stackPid(ctx, name)}`;
}

/** Signals this run's broker (runs 1..3 take kafka-1..kafka-3 in turn). */
function signalBroker(ctx: FaultContext, sig: NodeJS.Signals): { name: string; pid: number } {
  const name = broker(ctx);
  const pid = stackPid(ctx, name);
  signal(pid, sig);
  return { name, pid };
}

/** Signals one of the two gateway processes and waits until the primary has two again. */
async function signalGatewayProcess(ctx: FaultContext, index: number, sig: 'SIGTERM' | 'SIGKILL'): Promise<string> {
  const { workers } = gatewayPids(ctx.startPid);
  const pid = workers[index];
  if (pid === undefined || workers.length !== 2) throw new Error(`expected 2 gateway processes, found ${workers.length}`);
  signal(pid, sig);
  await waitGone(pid, 'gateway process', 30_000);
  await waitFor('2 gateway processes again', () => gatewayPids(ctx.startPid).workers.length === 2, 60_000);
  return `${sig} gateway process ${pid}; now ${gatewayPids(ctx.startPid).workers.join(',')}`;
}

export const FAULTS: Fault[] = [
  {
    id: '1-sink-kill',
    title: 'sink process SIGKILL under load (inserts run every ~1 s)',
    loadSeconds: 15,
    async inject(ctx) {
      const [pid] = sinkPids(ctx.startPid);
      if (pid === undefined) throw new Error('no sink process found');
      signal(pid, 'SIGKILL');
      await waitGone(pid, 'sink');
      // The supervisor starts a new one; it is back when one consumes all partitions again.
      await sinkCount(ctx, 1);
      return `SIGKILL sink pid ${pid}; supervisor restarted it (now ${sinkPids(ctx.startPid).join(',')})`;
    },
  },
  {
    id: '2-broker-stop',
    title: 'Kafka broker SIGSTOP 12 s (> produce timeout 5 s), SIGCONT',
    loadSeconds: 24,
    async inject(ctx) {
      const { name, pid } = signalBroker(ctx, 'SIGSTOP');
      await sleep(12_000);
      signal(pid, 'SIGCONT');
      return `SIGSTOP ${name} (pid ${pid}) for 12 s, then SIGCONT`;
    },
  },
  {
    id: '3-broker-restart',
    title: 'Kafka broker restart (SIGTERM, stack up)',
    loadSeconds: 24,
    inject: (ctx) => restartStackServer(ctx, broker(ctx)),
  },
  {
    id: '4-clickhouse-down',
    title: 'ClickHouse endpoint stopped 30 s',
    loadSeconds: 45,
    inject: (ctx) => restartStackServer(ctx, 'clickhouse', 30_000),
  },
  {
    id: '5-nats-restart',
    title: 'NATS restart (SIGTERM, stack up)',
    loadSeconds: 15,
    inject: (ctx) => restartStackServer(ctx, 'nats'),
  },
  {
    id: '6a-gateway-term',
    title: 'gateway process SIGTERM (graceful drain; the primary starts a new one)',
    loadSeconds: 15,
    inject: (ctx) => signalGatewayProcess(ctx, 0, 'SIGTERM'),
  },
  {
    id: '6b-gateway-kill',
    title: 'gateway process SIGKILL (requests in flight cut: ambiguous)',
    loadSeconds: 15,
    // Alternates between the two processes, so each is killed at least once over three runs.
    inject: (ctx) => signalGatewayProcess(ctx, ctx.run % 2, 'SIGKILL'),
  },
  {
    id: '7-sink-scale',
    title: 'sink scale 1 → 3 → 1 under load (rebalances)',
    loadSeconds: 50,
    async inject(ctx) {
      await cliOk(['sink', 'scale', '3'], ctx.world.env, ctx.log, 30_000);
      await sinkCount(ctx, 3);
      await sleep(3_000);
      await cliOk(['sink', 'scale', '1'], ctx.world.env, ctx.log, 30_000);
      await sinkCount(ctx, 1);
      return 'sink scale 3 (3 consuming), then scale 1 (1 consuming)';
    },
  },
  {
    id: '8-broker-lost',
    title: 'one broker of three SIGKILLed under load (stays down for the run)',
    loadSeconds: 22,
    async inject(ctx) {
      const { name, pid } = signalBroker(ctx, 'SIGKILL');
      await waitGone(pid, name);
      return `SIGKILL ${name} (pid ${pid}); left down until the proof is done`;
    },
    async restore(ctx) {
      await stackUp(ctx);
    },
  },
];
