/**
 * What the suite reads from Kafka itself: the sink group's consumer lag (sampled during a run), the
 * moment the group has consumed everything produced before a given instant (recovery), and whether
 * all replicas are back in sync before the next run starts.
 */
import { Kafka, logLevel, type Admin } from 'kafkajs';

export const TOPIC = 'events';
export const GROUP = 'floodgate-sink';

async function bounded<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export class KafkaWatch {
  private admin: Admin;
  private connected = false;

  constructor(brokers: string[]) {
    const kafka = new Kafka({ clientId: 'floodgate-chaos', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 2_000, requestTimeout: 4_000, retry: { retries: 1 } });
    this.admin = kafka.admin();
  }

  private async ready(): Promise<Admin> {
    if (!this.connected) {
      await bounded(5_000, this.admin.connect());
      this.connected = true;
    }
    return this.admin;
  }

  /** High watermark and the group's committed offset per partition (committed -1 counts from low). */
  async offsets(): Promise<{ partition: number; high: number; committed: number }[]> {
    const admin = await this.ready();
    const [committed, topic] = await bounded(6_000, Promise.all([admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }), admin.fetchTopicOffsets(TOPIC)]));
    const byPartition = new Map((committed.find((t) => t.topic === TOPIC)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return topic.map((t) => {
      const c = byPartition.get(t.partition);
      return { partition: t.partition, high: Number(t.high), committed: c === undefined || c < 0 ? Number(t.low) : c };
    });
  }

  async lag(): Promise<number> {
    return (await this.offsets()).reduce((sum, p) => sum + Math.max(0, p.high - p.committed), 0);
  }

  /** Every partition has all its replicas in sync and a leader. */
  async fullyReplicated(): Promise<boolean> {
    const admin = await this.ready();
    const meta = await bounded(6_000, admin.fetchTopicMetadata({ topics: [TOPIC] }));
    const parts = meta.topics[0]?.partitions ?? [];
    return parts.length > 0 && parts.every((p) => p.leader >= 0 && p.isr.length === p.replicas.length);
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect().catch(() => {});
  }
}

export interface LagSampler {
  /** Highest lag seen (samples that failed, e.g. while a broker is stopped, are skipped). */
  max(): number;
  /**
   * Resolves with the time at which the group had consumed everything that was produced before
   * `since` (the fault was cleared): the backlog the fault built is gone.
   */
  caughtUp(since: number, timeoutMs: number): Promise<number | undefined>;
  stop(): void;
}

export function sampleLag(watch: KafkaWatch, everyMs = 500): LagSampler {
  let max = 0;
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      try {
        max = Math.max(max, await watch.lag());
      } catch {
        // a broker is down or frozen: no sample this time
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };
  void loop();
  return {
    max: () => max,
    stop: () => {
      stopped = true;
    },
    caughtUp: async (since, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      let marks: Map<number, number> | undefined;
      while (Date.now() < deadline) {
        try {
          const now = await watch.offsets();
          // The high watermarks read just after `since` mark what was produced before it.
          marks ??= new Map(now.map((p) => [p.partition, p.high]));
          if (now.every((p) => p.committed >= (marks!.get(p.partition) ?? 0))) return Date.now();
        } catch {
          // not answering yet
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      return undefined;
    },
  };
}
