import cluster from 'node:cluster';
import type { Logger } from '@floodgate/logging';

export type ShutdownReason = 'SIGTERM' | 'SIGINT' | 'parent-exited';

/**
 * Runs `stop` once on SIGTERM, SIGINT, or when the parent that started this process with an IPC
 * channel goes away (so a killed test runner or `floodgate start` leaves no orphan holding a
 * port), then exits 0 — or 1 if `stop` failed. A cluster worker's channel is its primary's: the
 * primary stops it with a signal, so the channel is not watched there.
 */
export function onShutdown(logger: Logger, stop: (reason: ShutdownReason) => Promise<void>): void {
  let stopping = false;
  const run = (reason: ShutdownReason) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down');
    stop(reason).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error, reason }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => run('SIGTERM'));
  process.on('SIGINT', () => run('SIGINT'));
  onParentExit(() => run('parent-exited'));
}

/**
 * Calls `handler` when the parent that started this process with an IPC channel goes away. Not
 * for cluster workers: their channel is the primary's, which stops them with a signal.
 */
export function onParentExit(handler: () => void): void {
  if (!process.channel || cluster.isWorker) return;
  process.on('disconnect', handler);
  // The channel must not keep the process alive by itself.
  process.channel.unref();
}

export { allPids, readCmdline, listenersOf } from './processes.ts';
export { startPipeline } from './pipeline.ts';
export type { PipelineOptions, RunningPipeline } from './pipeline.ts';
