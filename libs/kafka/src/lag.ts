import type { Admin } from 'kafkajs';

/** Where a consumer group stands on one partition of a topic. */
export interface PartitionOffsets {
  /** The group's committed offset (next to read), null when it never committed. */
  committed: number | null;
  /** Earliest offset still available. */
  low: number;
  /** Next offset to be written. */
  high: number;
}

export interface PartitionLag {
  partition: number;
  /** The group's committed offset (next to read), null when it never committed. */
  committed: number | null;
  /** Next offset to be written. */
  end: number;
  /** Events not committed yet; from the earliest available offset when nothing was committed. */
  lag: number;
}

/**
 * Joins the group's committed offsets (kafkajs `fetchOffsets`, -1 for never committed) with the
 * topic's low/high offsets (`fetchTopicOffsets`), per partition of the topic.
 */
export function joinOffsets(
  committed: ReadonlyArray<{ partition: number; offset: string }>,
  topicOffsets: ReadonlyArray<{ partition: number; low: string; high: string }>,
): Map<number, PartitionOffsets> {
  const byPartition = new Map<number, PartitionOffsets>();
  for (const t of topicOffsets) byPartition.set(t.partition, { committed: null, low: Number(t.low), high: Number(t.high) });
  for (const p of committed) {
    const entry = byPartition.get(p.partition);
    const offset = Number(p.offset);
    if (entry && offset >= 0) entry.committed = offset;
  }
  return byPartition;
}

/** Committed offsets of a group and the topic's low/high offsets, per partition, in one admin round trip each. */
export async function readPartitionOffsets(kafkaAdmin: Admin, groupId: string, topic: string): Promise<Map<number, PartitionOffsets>> {
  // Committed first, end second: the end is then never older than the commit (lag >= 0).
  const committed = await kafkaAdmin.fetchOffsets({ groupId, topics: [topic] });
  const ends = await kafkaAdmin.fetchTopicOffsets(topic);
  return joinOffsets(committed.find((t) => t.topic === topic)?.partitions ?? [], ends);
}

/** Lag per partition, sorted by partition: events not committed yet, from the low offset when nothing was committed. */
export function lagOf(offsets: ReadonlyMap<number, PartitionOffsets>): PartitionLag[] {
  return [...offsets]
    .map(([partition, o]) => ({ partition, committed: o.committed, end: o.high, lag: Math.max(0, o.high - (o.committed ?? o.low)) }))
    .sort((a, b) => a.partition - b.partition);
}

/** Consumer lag of a group on a topic, per partition, as Kafka sees it (committed vs end). */
export async function consumerLag(kafkaAdmin: Admin, groupId: string, topic: string): Promise<PartitionLag[]> {
  return lagOf(await readPartitionOffsets(kafkaAdmin, groupId, topic));
}
