import type { ClickHouseClient } from '@clickhouse/client';

/** One row of the events table, as the sink writes it. */
export interface EventRow {
  id: string;
  tenant: string;
  type: string;
  source: string;
  subject: string;
  time: string;
  received_at: string;
  data: string;
  trace_id: string;
  kafka_partition: number;
  kafka_offset: string;
}

/**
 * The deduplication token of a batch: the same Kafka range always yields the same token, so a
 * batch inserted again after a crash or rebalance is dropped by ClickHouse.
 */
export function batchDedupToken(topic: string, partition: number, firstOffset: string, lastOffset: string): string {
  return `${topic}:${partition}:${firstOffset}-${lastOffset}`;
}

export async function insertEventRows(
  client: ClickHouseClient,
  table: string,
  rows: EventRow[],
  dedupToken: string,
): Promise<void> {
  await client.insert({
    table,
    values: rows,
    format: 'JSONEachRow',
    clickhouse_settings: { insert_deduplication_token: dedupToken },
  });
}
