import type { BenchReport, TimelinePoint } from '../src/report.ts';
import type { ResourceSample } from '../src/resources.ts';

/** A plausible report of a storm run, for rendering tests (no stack needed). */
export function fixtureReport(overrides: Partial<BenchReport> = {}): BenchReport {
  const timeline: TimelinePoint[] = Array.from({ length: 20 }, (_, i) => {
    const target = Math.min(800, (i + 0.5) * 100);
    return { t: i + 1, phase: 0, targetRate: target, sentRate: Math.round(target), okRate: Math.round(target * 0.99), errorRate: i === 12 ? 8 : 0, eventsPerSecond: Math.round(target * 0.99) * 10, p50: 2 + i * 0.1, p90: 4 + i * 0.2, p99: 9 + i, max: 20 + 2 * i, inFlight: 3 };
  });
  const roles = { gateway: 60, sink: 30, kafka: 25, nats: 1, clickhouse: 10, bench: 40 };
  const samples: ResourceSample[] = Array.from({ length: 21 }, (_, i) => ({
    t: i,
    roles: Object.fromEntries(Object.entries(roles).map(([role, cpu]) => [role, { cpu: cpu + (i % 5), rssMiB: cpu * 5 + i, pids: 1 }])),
  }));
  return {
    version: 1,
    runId: '20260101-000000-abcd',
    scenario: 'storm',
    command: 'floodgate bench storm --to 800 --ramp 8s --hold 12s --batch 10',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:25.000Z',
    loadSeconds: 20,
    answerSeconds: 20.2,
    wallSeconds: 21,
    stopReason: 'completed',
    interrupted: false,
    machine: { hostname: 'box', nproc: 2, cpuModel: 'Test CPU', memGiB: 24, node: 'v20.20.2', platform: 'linux-x64' },
    git: { commit: 'abc123def456', dirty: false },
    target: { kind: 'http', url: 'http://127.0.0.1:8080', batch: 10, format: 'json', gzip: false, connections: 32, window: 16, auth: true },
    load: { model: 'open', threads: 2, thinkMs: 0, profile: { start: 0, stages: [{ durationMs: 8000, target: 800 }, { durationMs: 12000, target: 800 }] }, eventBytes: 300, mix: { product: 6, telemetry: 3, iot: 1 } },
    totals: { intended: 12800, sent: 12800, ok: 12792, failed: 8, eventsSent: 128000, eventsAcked: 127920, ambiguousEvents: 0, targetRate: 800, meanTargetRate: 640, offeredRate: 640, answeredRate: 633.7, achievedRate: 633.3, eventsPerSecond: 6333, efficiency: 0.9895, errorRate: 0.000625 },
    latencyMs: { count: 12792, mean: 3.1, p50: 2.5, p90: 5.1, p95: 7.2, p99: 21.3, p999: 40.2, max: 58 },
    serviceMs: { count: 12792, mean: 3, p50: 2.4, p90: 5, p95: 7, p99: 20.1, p999: 39, max: 57 },
    latencyCurve: [0, 10, 50, 90, 99, 99.9, 100].map((p) => ({ percentile: p, ms: 1 + p / 5 })),
    errors: [{ key: '503 OVERLOADED', count: 8 }],
    statuses: { 202: 12792, 503: 8 },
    timeline,
    resources: { samples, summary: Object.entries(roles).map(([role, cpu]) => ({ role: role as never, pids: [100], cpuAvg: cpu + 2, cpuMax: cpu + 4, rssMaxMiB: cpu * 5 + 20, rssLastMiB: cpu * 5 + 20 })) },
    delivery: {
      checked: true,
      acknowledged: 127920,
      ambiguous: 0,
      rows: 127920,
      distinctIds: 127920,
      duplicateIds: 0,
      duplicateRows: 0,
      ok: true,
      exact: true,
      missing: 0,
      extra: 0,
      reason: 'all 127920 acknowledged events landed exactly once',
      lagWaitMs: 900,
      lagAtEnd: 0,
      lagTimedOut: false,
      e2eMs: {
        count: 127920,
        mean: 400,
        p50: 350,
        p90: 700,
        p95: 800,
        p99: 1100,
        p999: 1300,
        max: 1500,
        curve: [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100].map((p) => ({ percentile: p, ms: 100 + p * 10 })),
        overTime: Array.from({ length: 20 }, (_, i) => ({ t: i, n: 100, p50: 300 + i, p99: 900 + i * 5, max: 1000 + i * 10 })),
      },
    },
    files: { json: '/tmp/x/report.json', html: '/tmp/x/report.html' },
    stored: 'db.bench_runs',
    verdict: { ok: true, reasons: [] },
    ...overrides,
  };
}
