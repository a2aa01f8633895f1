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
  onStopRequest((reason: ShutdownReason) => {
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
  });
}

/**
 * The one place signals are wired: calls `handler` on every SIGTERM and SIGINT and, unless
 * `parent: false`, once the parent that started this process with an IPC channel goes away
 * (onParentExit). Every request is passed on: a process that stops once ignores the later ones
 * (onShutdown does), a command that stops in stages counts them (the bench: the first Ctrl-C stops
 * the load, the second skips the proof). Returns a function that stops listening to the signals.
 */
export function onStopRequest(handler: (reason: ShutdownReason) => void, options: { parent?: boolean } = {}): () => void {
  const onTerm = () => handler('SIGTERM');
  const onInt = () => handler('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  if (options.parent ?? true) onParentExit(() => handler('parent-exited'));
  return () => {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  };
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
export { START_TIMEOUT_MS, untilReady } from './until-ready.ts';
