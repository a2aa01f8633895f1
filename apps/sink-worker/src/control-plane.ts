import type { Subscription } from '@nats-io/transport-node';
import { FloodgateError } from '@floodgate/errors';
import type { Logger } from '@floodgate/logging';
import { JsonBucket, serveRequests, type NatsConnection } from '@floodgate/nats';
import { memberKeys, sinkControlPlane, type MemberRecord, type SinkCommand, type SinkCommandResult } from '@floodgate/sink-protocol';
import type { SinkConfig } from './config.ts';
import type { Sink } from './sink.ts';

export interface ProcessControlPlane {
  /** Publishes one heartbeat now (membership, actors, lag). */
  beat(): Promise<void>;
  /** Stops heartbeats and commands, and removes this process's entries (so `status` drops it at once). */
  stop(): Promise<void>;
}

/**
 * A sink process on the NATS control plane (docs/sink.md, "Control plane"): a heartbeat writes
 * the process and each of its partition actors to the members bucket (bucket-wide TTL, so a
 * process that dies without cleaning up disappears within SINK_MEMBER_TTL_MS), and the process
 * answers flush / pause / resume / drain / ping on its subject.
 */
export async function startProcessControlPlane(
  config: SinkConfig,
  nc: NatsConnection,
  sink: Sink,
  logger: Logger,
  onDrainRequested: () => void,
): Promise<ProcessControlPlane> {
  const plane = sinkControlPlane(config.SINK_NATS_PREFIX);
  const members = await JsonBucket.open<MemberRecord>(nc, plane.membersBucket, { ttlMs: config.SINK_MEMBER_TTL_MS });
  const processKey = memberKeys.process(sink.processId);
  let published = new Set<string>();
  let stopped = false;
  let beating: Promise<void> = Promise.resolve();

  async function publish(): Promise<void> {
    await sink.refreshLag().catch((error: unknown) => logger.debug({ err: error }, 'cannot refresh lag'));
    const { process, actors } = sink.snapshot();
    const now = new Set<string>([processKey]);
    const writes: Promise<unknown>[] = [members.put(processKey, process)];
    for (const actor of actors) {
      const key = memberKeys.actor(sink.processId, actor.partition);
      now.add(key);
      writes.push(members.put(key, actor));
    }
    for (const key of published) if (!now.has(key)) writes.push(members.delete(key));
    await Promise.all(writes);
    published = now;
  }

  const beat = (): Promise<void> => {
    beating = beating.then(() => (stopped ? undefined : publish())).catch((error: unknown) => {
      logger.warn({ err: error }, 'heartbeat to NATS failed');
    });
    return beating;
  };

  const timer = setInterval(() => void beat(), config.SINK_MEMBER_HEARTBEAT_MS);
  timer.unref();

  const subscription: Subscription = serveRequests(
    nc,
    plane.processSubject(sink.processId),
    async (request): Promise<SinkCommandResult> => {
      const command = request as SinkCommand;
      const base = () => ({ process: sink.processId, cmd: command.cmd, partitions: sink.snapshot().process.partitions, state: sink.state() });
      switch (command.cmd) {
        case 'ping':
          return base();
        case 'flush': {
          const flushed = await sink.flush();
          void beat();
          return { ...base(), flushed: flushed.map((f) => ({ partition: f.partition, rows: f.rows, committed: f.committed === null ? null : String(f.committed) })) };
        }
        case 'pause':
          sink.pause();
          void beat();
          return base();
        case 'resume':
          sink.resume();
          void beat();
          return base();
        case 'drain': {
          const partitions = sink.snapshot().process.partitions;
          onDrainRequested();
          const outcome = await sink.drain();
          return {
            process: sink.processId,
            cmd: 'drain',
            partitions,
            state: 'draining',
            flushed: outcome.flushed.map((f) => ({ partition: f.partition, rows: f.rows, committed: f.committed === null ? null : String(f.committed) })),
          };
        }
        default:
          throw new FloodgateError('CONTROL_FAILED', `unknown command ${JSON.stringify((command as { cmd?: unknown }).cmd)}`);
      }
    },
    logger,
  );

  await beat();

  return {
    beat,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await beating;
      // Let the reply of a drain command go out before the subscription closes.
      await nc.flush().catch(() => {});
      subscription.unsubscribe();
      await Promise.all([...published].map((key) => members.delete(key).catch(() => {})));
    },
  };
}
