import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoadThreads } from '../src/threads.ts';
import type { IntervalSnapshot } from '../src/stats.ts';

/**
 * A request still unanswered when the bench stops waiting (the drain bound) may have been written by
 * the gateway: it must count as failed with an unknown outcome (ambiguous), or the delivery proof
 * finds its rows neither acknowledged nor ambiguous and fails a run that lost nothing (seen in the
 * chaos suite under a loaded gateway).
 */
describe('load threads: requests without an answer at the end of the drain bound', () => {
  let server: http.Server;
  let url: string;
  const held: http.ServerResponse[] = [];

  beforeAll(async () => {
    // Reads every request and never answers it.
    server = http.createServer((req, res) => {
      req.resume();
      held.push(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const res of held) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('counts them as failed and their events as ambiguous, once', async () => {
    const snapshots: IntervalSnapshot[] = [];
    const threads = new LoadThreads(
      [
        {
          thread: 0,
          runId: 'unanswered-test',
          target: { kind: 'http', url, connections: 4, window: 1, format: 'json', gzip: false, timeoutMs: 60_000, maxQueued: 1000 },
          payload: { batch: 5, format: 'json', gzip: false, eventBytes: 100, mix: { product: 1 }, seed: 1, poolSize: 8 },
        },
      ],
      (_thread, snapshot) => snapshots.push(snapshot),
    );
    try {
      await threads.ready();
      const t0 = Date.now();
      const result = await threads.runPhase(() => ({
        type: 'phase',
        phase: 0,
        model: 'open',
        profile: { start: 20, stages: [{ durationMs: 200, target: 20 }] },
        startAtMs: t0,
        thinkMs: 0,
        drainMs: 300,
        t0,
      }));
      const sum = (f: (s: IntervalSnapshot) => number) => snapshots.reduce((n, s) => n + f(s), 0);
      expect(result.undrained).toBeGreaterThan(0);
      expect(sum((s) => s.sent)).toBe(result.dispatched);
      expect(sum((s) => s.ok)).toBe(0);
      expect(sum((s) => s.failed)).toBe(result.dispatched);
      expect(sum((s) => s.ambiguousEvents)).toBe(5 * result.dispatched);
      expect(snapshots.flatMap((s) => Object.keys(s.errors))).toContain('no answer within the drain bound');
    } finally {
      // Cut the held requests, so the thread's connection pool can close.
      for (const res of held) res.destroy();
      await threads.close();
    }
  }, 30_000);
});
