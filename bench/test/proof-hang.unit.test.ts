import { describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Admin } from 'kafkajs';
import { proveDelivery } from '../src/proof.ts';

/** An admin whose reads answer with lag 0 on one partition, or never (a request queued for ever). */
function fakeAdmin(answers: boolean): Admin {
  const never = new Promise<never>(() => {});
  return {
    fetchOffsets: () => (answers ? Promise.resolve([{ topic: 'events', partitions: [{ partition: 0, offset: '10' }] }]) : never),
    fetchTopicOffsets: () => (answers ? Promise.resolve([{ partition: 0, offset: '10', high: '10', low: '0' }]) : never),
  } as unknown as Admin;
}

/** ClickHouse answering 10 rows, 10 ids, no duplicates. */
const clickhouse = {
  query: async ({ query }: { query: string }) => ({
    json: async () => {
      if (query.includes('uniqExact(id)')) return [{ rows: 10, ids: 10 }];
      if (query.includes('dup_ids')) return [{ dup_ids: 0, dup_rows: 0 }];
      if (query.includes('quantilesExact')) return [{ q: [], mean: 0, max: 0, n: 10 }];
      return [];
    },
  }),
} as unknown as ClickHouseClient;

const base = { clickhouse, groupId: 'g', topic: 'events', database: 'db', table: 'events', runId: 'r', since: '2026-01-01T00:00:00Z', acknowledged: 10, ambiguous: 0, t0Ms: 0 };

describe('delivery proof: a lag read that never answers', () => {
  it('is given up after the read timeout and tried again with a new admin client, and the proof completes', async () => {
    let fresh = 0;
    const proof = await proveDelivery({
      ...base,
      kafkaAdmin: fakeAdmin(false),
      freshAdmin: async () => {
        fresh++;
        return fakeAdmin(true);
      },
      lagReadTimeoutMs: 100,
      timeoutMs: 10_000,
    });
    expect(fresh).toBe(1);
    expect(proof.lagTimedOut).toBe(false);
    expect(proof.ok).toBe(true);
    expect(proof.rows).toBe(10);
  });

  it('without a way to make a new client, fails with the read timeout instead of hanging', async () => {
    await expect(proveDelivery({ ...base, kafkaAdmin: fakeAdmin(false), lagReadTimeoutMs: 100, timeoutMs: 10_000 })).rejects.toThrow(/reading the consumer lag: no answer within 100 ms/);
  });
});
