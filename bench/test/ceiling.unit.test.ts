import { describe, expect, it } from 'vitest';
import { ceilingFractions, fractionOf, parseProducerPerformance, pipelineRecordBytes, renderFractions, type Ceiling } from '../src/ceiling.ts';

// Kafka 4.1's ProducerPerformance: progress lines every 5 s, then one summary line with percentiles.
const OUTPUT = [
  '52381 records sent, 10476.2 records/sec (3.00 MB/sec), 1432.1 ms avg latency, 2795.0 ms max latency.',
  '100000 records sent, 10535.3 records/sec (3.01 MB/sec), 2064.56 ms avg latency, 4987.00 ms max latency, 1908 ms 50th, 4612 ms 95th, 4846 ms 99th, 4970 ms 99.9th.',
  '',
].join('\n');

const ceiling = (over: Partial<Ceiling>): Ceiling => ({
  id: 'c1',
  measuredAt: '2026-12-02T17:00:00.000Z',
  kind: 'http',
  batch: 1,
  rate: 16000,
  eventsPerSecond: 16000,
  p99Ms: 5,
  recordSize: 300,
  host: 'box',
  nproc: 2,
  gitCommit: '',
  detail: {},
  ...over,
});

describe('ProducerPerformance output', () => {
  it('reads the final summary line, not the progress lines before it', () => {
    expect(parseProducerPerformance(OUTPUT)).toEqual({
      records: 100000,
      recordsPerSecond: 10535.3,
      mbPerSecond: 3.01,
      avgLatencyMs: 2064.56,
      maxLatencyMs: 4987,
      p50Ms: 1908,
      p95Ms: 4612,
      p99Ms: 4846,
      p999Ms: 4970,
    });
  });

  it('fails with BENCH_CEILING_FAILED and the output tail when there is no summary (a run that died early)', () => {
    const run = () => parseProducerPerformance('52381 records sent, 10476.2 records/sec (3.00 MB/sec), 1432.1 ms avg latency, 2795.0 ms max latency.\norg.apache.kafka.common.errors.TimeoutException: boom\n');
    expect(run).toThrow(expect.objectContaining({ code: 'BENCH_CEILING_FAILED', message: expect.stringContaining('TimeoutException: boom') }));
  });
});

describe('fractions of the ceilings', () => {
  it('is rate over ceiling to three decimals, and undefined without a usable ceiling', () => {
    expect(fractionOf(4135, 15753)).toBe(0.262);
    expect(fractionOf(8000, 16000)).toBe(0.5);
    expect(fractionOf(100, 0)).toBeUndefined();
    expect(fractionOf(100, undefined)).toBeUndefined();
    expect(fractionOf(100, Number.NaN)).toBeUndefined();
  });

  it('compares events/s with the bare server at the same batch and with Kafka records/s', () => {
    const c = ceilingFractions(
      { requestsPerSecond: 90, eventsPerSecond: 9000, batch: 100 },
      ceiling({ id: 'h100', batch: 100, rate: 300, eventsPerSecond: 30000 }),
      ceiling({ id: 'k', kind: 'kafka', rate: 145000, eventsPerSecond: 145000 }),
    );
    expect(c.http).toMatchObject({ ceilingId: 'h100', fraction: 0.3 });
    expect(c.kafka).toMatchObject({ ceilingId: 'k', fraction: 0.062, recordSize: 300 });
    expect(c.notes).toEqual([]);
    expect(renderFractions(c)).toEqual([
      'ceiling: 0.300 of the bare uWebSockets.js server (9,000 vs 30,000 events/s, 300 req/s; ceiling h100)',
      "ceiling: 0.062 of Kafka's own producer (9,000 events/s vs 145,000 records/s of 300 B, acks=all; ceiling k)",
    ]);
  });

  it('does not compare with an HTTP ceiling measured at another batch size, and says what to run', () => {
    const c = ceilingFractions({ requestsPerSecond: 4000, eventsPerSecond: 4000, batch: 1 }, ceiling({ batch: 100 }), undefined);
    expect(c.http).toBeUndefined();
    expect(c.kafka).toBeUndefined();
    expect(c.notes).toEqual([
      'no HTTP ceiling at batch 1 on this host (run `floodgate bench ceiling --batch 1`)',
      'no Kafka producer ceiling on this host (run `floodgate bench ceiling`)',
    ]);
  });
});

describe("the Kafka ceiling's record size", () => {
  it("is the pipeline's Kafka record for the bench's events: larger than the event (id, tenant, times added), the same for the same payload options", () => {
    const options = { eventBytes: 300, mix: { product: 6, telemetry: 3, iot: 1 }, seed: 1 };
    const bytes = pipelineRecordBytes(options);
    expect(pipelineRecordBytes(options)).toBe(bytes);
    expect(bytes).toBeGreaterThan(300);
    expect(bytes).toBeLessThan(300 + 200);
    expect(pipelineRecordBytes({ ...options, eventBytes: 1000 })).toBeGreaterThan(1000);
  });
});
