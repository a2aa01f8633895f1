import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse } from '@floodgate/clickhouse';
import { clickhouseUrl } from '@floodgate/config';
import { freePort, metricValue, stackConfigForTests, startPipeline, uniqueName, waitFor, type RunningPipeline } from '@floodgate/testkit';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Issue 12, freshness: with GATEWAY_CANARY_INTERVAL_MS set, the gateway sends a canary event
 * through its own ingest port every interval, times it until it is queryable in ClickHouse, exports
 * `floodgate_freshness_seconds` and `floodgate status` shows it.
 */
describe('the freshness canary', () => {
  const stack = stackConfigForTests();
  const env = {
    KAFKA_TOPIC: uniqueName('canary_events'),
    KAFKA_DLQ_TOPIC: uniqueName('canary_events_dlq'),
    SINK_GROUP_ID: uniqueName('canary_sink'),
    CLICKHOUSE_DATABASE: uniqueName('it_canary'),
    SINK_NATS_PREFIX: uniqueName('canary'),
    FLOODGATE_API_KEYS: 'canary-test:canary-test-key-0001',
    SINK_FLUSH_MAX_AGE_MS: '3000',
    GATEWAY_CANARY_INTERVAL_MS: '500',
  };
  let pipeline: RunningPipeline;
  let clickhouse: ClickHouseClient;

  beforeAll(async () => {
    pipeline = await startPipeline({
      env: { ...env, GATEWAY_PORT: String(await freePort()), ADMIN_PORT: String(await freePort()), SINK_ADMIN_PORT: '0' },
      onLogLine: (app, line) => {
        if (/"level":"(error|fatal)"/.test(line)) process.stderr.write(`[${app}] ${line}\n`);
      },
    });
    clickhouse = createClickHouse({ url: clickhouseUrl(stack), username: stack.CLICKHOUSE_USER, password: stack.CLICKHOUSE_PASSWORD, database: 'default' });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${env.CLICKHOUSE_DATABASE}` });
    await clickhouse?.close();
  });

  it('measures accepted → queryable per gateway, exports it and shows it in floodgate status', async () => {
    // Wait for a canary that landed: before the first one, the gauge already shows the age of the
    // oldest canary still missing (by design), so its presence alone does not mean a row exists.
    // The sink's flush age is long enough here that it never does yet.
    const metrics = await waitFor(
      async () => {
        const text = await (await fetch(`${pipeline.adminUrl}/metrics`, { headers: { connection: 'close' } })).text();
        return (metricValue(text, 'floodgate_canary_landed_total') ?? 0) > 0 ? text : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'a canary landed (floodgate_canary_landed_total > 0)' },
    );
    const freshness = metricValue(metrics, 'floodgate_freshness_seconds');
    expect(freshness).toBeGreaterThan(0);
    expect(freshness).toBeLessThan(30);
    const rows = await (
      await clickhouse.query({ query: `SELECT count() AS n, uniqExact(source) AS gateways FROM ${env.CLICKHOUSE_DATABASE}.events WHERE tenant = 'floodgate-canary' AND type = 'floodgate.canary'`, format: 'JSONEachRow' })
    ).json<{ n: string; gateways: string }>();
    expect(Number(rows[0]!.n)).toBeGreaterThan(0);
    expect(Number(rows[0]!.gateways)).toBe(1);

    const status = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/cli/src/main.ts'), 'status'], { cwd: ROOT, env: { ...process.env, ...env, LOG_LEVEL: 'error' }, stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.once('exit', (code) => resolve({ code, stdout }));
    });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^freshness: \d+\.\d{3} s from accepted to queryable \(gateway \S+, canary landed \d+s ago\)$/m);
  });
});
