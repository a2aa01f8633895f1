import type { Admin } from 'kafkajs';

export interface PartitionLag {
  partition: number;
  /** The group's committed offset (next to read), null when it never committed. */
  committed: number | null;
  /** Next offset to be written. */
  end: number;
  /** Events not committed yet; from the earliest available offset when nothing was committed. */
  lag: number;
}

/** Consumer lag of a group on a topic, per partition, as Kafka sees it (committed vs end). */
export async function consumerLag(admin: Admin, groupId: string, topic: string): Promise<PartitionLag[]> {
  // Committed first, end second: the end is then never older than the commit (lag >= 0).
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  const ends = await admin.fetchTopicOffsets(topic);
  const byPartition = new Map<number, number>();
  for (const p of committed.find((t) => t.topic === topic)?.partitions ?? []) {
    const offset = Number(p.offset);
    if (offset >= 0) byPartition.set(p.partition, offset);
  }
  return ends
    .map((e) => {
      const c = byPartition.get(e.partition) ?? null;
      const end = Number(e.high);
      const from = c ?? Number(e.low);
      return { partition: e.partition, committed: c, end, lag: Math.max(0, end - from) };
    })
    .sort((a, b) => a.partition - b.partition);
}
