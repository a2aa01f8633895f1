import { describe, expect, it } from 'vitest';
import { computeLag, judgeDelivery, proofQueries, type DeliveryCounts } from '../src/proof.ts';
import { isAmbiguous } from '../src/stats.ts';

const counts = (c: Partial<DeliveryCounts>): DeliveryCounts => ({ acknowledged: 1000, ambiguous: 0, rows: 1000, distinctIds: 1000, duplicateIds: 0, duplicateRows: 0, ...c });

describe('consumer lag', () => {
  it('is the high watermark minus the committed offset, per partition', () => {
    const lag = computeLag(
      [
        { partition: 0, offset: '100' },
        { partition: 1, offset: '40' },
      ],
      [
        { partition: 1, high: '50', low: '0' },
        { partition: 0, high: '100', low: '0' },
      ],
    );
    expect(lag.total).toBe(10);
    expect(lag.partitions).toEqual([
      { partition: 0, committed: 100, high: 100, lag: 0 },
      { partition: 1, committed: 40, high: 50, lag: 10 },
    ]);
  });

  it('counts a never-committed partition from its low watermark, so an empty one has no lag', () => {
    const lag = computeLag(
      [{ partition: 0, offset: '-1' }],
      [
        { partition: 0, high: '7', low: '7' },
        { partition: 1, high: '12', low: '2' },
      ],
    );
    expect(lag.partitions.map((p) => p.lag)).toEqual([0, 10]);
    expect(lag.total).toBe(10);
  });
});

describe('delivery verdict', () => {
  it('passes exactly when rows = distinct ids = acknowledged and nothing is duplicated', () => {
    const v = judgeDelivery(counts({}));
    expect(v).toMatchObject({ ok: true, exact: true, missing: 0, extra: 0 });
    expect(v.reason).toBe('all 1000 acknowledged events landed exactly once');
  });

  it('fails on a missing acknowledged event', () => {
    const v = judgeDelivery(counts({ rows: 999, distinctIds: 999 }));
    expect(v).toMatchObject({ ok: false, exact: false, missing: 1 });
    expect(v.reason).toContain('1 acknowledged event(s) missing');
  });

  it('fails on a duplicated id even when the distinct count is right', () => {
    const v = judgeDelivery(counts({ rows: 1003, duplicateIds: 2, duplicateRows: 3 }));
    expect(v).toMatchObject({ ok: false, exact: false, missing: 0, extra: 0 });
    expect(v.reason).toContain('2 id(s) duplicated (3 surplus row(s))');
  });

  it('accepts extra rows only as far as failed requests had an unknown outcome', () => {
    const explained = judgeDelivery(counts({ ambiguous: 10, rows: 1010, distinctIds: 1010 }));
    expect(explained).toMatchObject({ ok: true, exact: false, extra: 10 });
    expect(explained.reason).toContain('10 more from requests whose answer was lost');
    const unexplained = judgeDelivery(counts({ ambiguous: 5, rows: 1010, distinctIds: 1010 }));
    expect(unexplained).toMatchObject({ ok: false, extra: 10 });
  });

  it('finds nothing wrong, and says there is nothing to prove, when nothing was acknowledged and nothing stored', () => {
    expect(judgeDelivery(counts({ acknowledged: 0, rows: 0, distinctIds: 0 }))).toMatchObject({
      ok: true,
      exact: true,
      reason: 'nothing to prove: no event was acknowledged',
    });
  });
});

describe('proof queries', () => {
  const q = proofQueries({ database: 'db1', table: 'events', runId: 'r1', since: '2026-01-01T00:00:00.000Z' });

  it('count raw rows and distinct ids of this run only, by bound parameters', () => {
    expect(q.counts).toContain('count() AS rows');
    expect(q.counts).toContain('uniqExact(id) AS ids');
    expect(q.counts).toContain('FROM db1.events WHERE');
    expect(q.counts).toContain("JSONExtractString(data, 'run_id') = {run_id:String}");
    expect(q.counts).toContain("type LIKE 'bench.%'");
    expect(q.counts).not.toContain('FINAL');
    expect(q.params).toEqual({ run_id: 'r1', since: '2026-01-01T00:00:00.000Z' });
  });

  it('find duplicates over the raw table with GROUP BY id HAVING count() > 1', () => {
    expect(q.duplicates).toMatch(/GROUP BY id HAVING c > 1/);
    expect(q.duplicates).not.toContain('FINAL');
  });

  it('measure end to end as inserted_at - received_at', () => {
    expect(q.e2e).toContain('toUnixTimestamp64Milli(inserted_at) - toUnixTimestamp64Milli(received_at)');
  });
});

describe('ambiguous failures', () => {
  it('are those after which the events may still have landed', () => {
    for (const key of ['timeout', 'net ECONNRESET', '503 KAFKA_UNAVAILABLE', '500', 'ws closed', 'nack KAFKA_UNAVAILABLE', 'nack OVERLOADED']) {
      expect(isAmbiguous(key), key).toBe(true);
    }
    for (const key of ['400 EVENT_INVALID', '401 UNAUTHORIZED', '413 BODY_TOO_LARGE', '429 RATE_LIMITED', 'dropped (generator queue full)', 'ws not connected', 'nack EVENT_INVALID', 'nack RATE_LIMITED', 'nack WS_MESSAGE_TOO_LARGE']) {
      expect(isAmbiguous(key), key).toBe(false);
    }
  });
});
