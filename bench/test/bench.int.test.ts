import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse } from '@floodgate/clickhouse';
import { clickhouseUrl } from '@floodgate/config';
import { freePort, stackConfigForTests, startPipeline, uniqueName, type RunningPipeline } from '@floodgate/testkit';
import type { BenchReport } from '../src/report.ts';
import { screenshotReport } from './browser.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

/**
 * `floodgate bench` end to end on the real stack: gateway and sink on their own topic, consumer
 * group and database; the bench runs as the CLI a user would type, at modest rates (the generator
 * shares the 2 cores with Kafka, ClickHouse, gateway and sink), and its JSON report is checked,
 * delivery proof included.
 */
describe('floodgate bench against the real pipeline', () => {
  const stack = stackConfigForTests();
  const database = uniqueName('it_bench');
  const topic = uniqueName('bench_events');
  const group = uniqueName('bench_sink');
  const apiKey = 'bench-test-key-0001';
  const outRoot = mkdtempSync(path.join(tmpdir(), 'floodgate-bench-it-'));
  let pipeline: RunningPipeline;
  let clickhouse: ClickHouseClient;
  const runs: BenchReport[] = [];

  const benchEnv = (): NodeJS.ProcessEnv => ({
    ...process.env,
    KAFKA_TOPIC: topic,
    SINK_GROUP_ID: group,
    CLICKHOUSE_DATABASE: database,
    FLOODGATE_API_KEY: apiKey,
  });

  /** Runs `floodgate bench ...` and returns its exit code, stdout and stderr. */
  function cli(args: string[], timeoutMs = 90_000, env: NodeJS.ProcessEnv = benchEnv()): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'apps/cli/src/main.ts'), 'bench', ...args], {
        cwd: REPO_ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`bench ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
      }, timeoutMs);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  async function runJson(args: string[]): Promise<BenchReport> {
    const out = path.join(outRoot, String(runs.length));
    const result = await cli([...args, '--url', pipeline.gatewayUrl, '--out', out, '--json', '--quiet']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as BenchReport;
    runs.push(report);
    return report;
  }

  function expectDeliveryProven(report: BenchReport): void {
    const d = report.delivery;
    expect(d.checked, JSON.stringify(d)).toBe(true);
    if (!d.checked) return;
    expect(d.lagTimedOut).toBe(false);
    expect(d.acknowledged).toBe(report.totals.eventsAcked);
    expect(d.rows).toBe(d.acknowledged);
    expect(d.distinctIds).toBe(d.acknowledged);
    expect(d.duplicateIds).toBe(0);
    expect(d.missing).toBe(0);
    expect(d.ok).toBe(true);
    expect(d.exact).toBe(true);
    expect(d.e2eMs.count).toBe(d.rows);
    expect(d.e2eMs.p50).toBeGreaterThanOrEqual(0);
    expect(d.e2eMs.p99).toBeGreaterThanOrEqual(d.e2eMs.p50);
    expect(d.e2eMs.curve.length).toBeGreaterThan(5);
  }

  beforeAll(async () => {
    pipeline = await startPipeline({
      env: {
        KAFKA_TOPIC: topic,
        KAFKA_DLQ_TOPIC: `${topic}_dlq`,
        SINK_GROUP_ID: group,
        CLICKHOUSE_DATABASE: database,
        GATEWAY_PORT: String(await freePort()),
        ADMIN_PORT: '0',
        SINK_ADMIN_PORT: '0',
        SINK_NATS_PREFIX: uniqueName('bench'),
        FLOODGATE_API_KEYS: `bench:${apiKey}`,
      },
      onLogLine: (app, line) => {
        if (/"level":"(error|fatal)"/.test(line)) process.stderr.write(`[${app}] ${line}\n`);
      },
    });
    clickhouse = createClickHouse({ url: clickhouseUrl(stack), username: stack.CLICKHOUSE_USER, password: stack.CLICKHOUSE_PASSWORD, database: 'default' });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await clickhouse?.close();
    rmSync(outRoot, { recursive: true, force: true });
  });

  it('constant: 10 s at 400 requests/s of single events, every acknowledged event in ClickHouse once', async () => {
    const r = await runJson(['constant', '--rate', '400', '--duration', '10s', '--connections', '16']);
    expect(r.scenario).toBe('constant');
    expect(r.stopReason).toBe('completed');
    expect(r.target).toMatchObject({ kind: 'http', batch: 1, auth: true });
    expect(r.machine.nproc).toBeGreaterThan(0);
    expect(r.loadSeconds).toBeGreaterThanOrEqual(9.9);
    expect(r.totals.intended).toBe(4000);
    expect(r.totals.sent).toBe(4000);
    expect(r.totals.targetRate).toBe(400);
    expect(r.totals.ok + r.totals.failed).toBe(4000);
    // Modest rate on a shared 2-core box: nearly everything is accepted.
    expect(r.totals.errorRate).toBeLessThan(0.01);
    expect(r.totals.efficiency).toBeGreaterThan(0.99);
    expect(r.totals.achievedRate).toBeGreaterThan(390);
    expect(r.totals.eventsAcked).toBe(r.totals.ok);
    for (const key of ['p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const) expect(r.latencyMs[key]).toBeGreaterThan(0);
    expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p99);
    expect(r.latencyMs.p99).toBeLessThanOrEqual(r.latencyMs.max);
    expect(r.latencyMs.count).toBe(r.totals.ok);
    expect(r.timeline.length).toBeGreaterThanOrEqual(10);
    expect(r.timeline.reduce((sum, p) => sum + p.sentRate, 0)).toBe(4000);
    // Every process of the stack was sampled.
    const roles = r.resources.summary.map((s) => s.role);
    for (const role of ['gateway', 'sink', 'kafka', 'nats', 'clickhouse', 'bench']) expect(roles, role).toContain(role);
    expect(r.resources.summary.find((s) => s.role === 'gateway')!.cpuAvg).toBeGreaterThan(0);
    expect(r.resources.samples.length).toBeGreaterThanOrEqual(10);
    expectDeliveryProven(r);
    expect(r.stored).toBe(`${database}.bench_runs`);
    expect(existsSync(r.files.json)).toBe(true);
    expect(statSync(r.files.html).size).toBeGreaterThan(10_000);
  });

  it('storm: 0 to 60 requests/s of 10-event batches in 8 s, then hold; proven and drawn', async () => {
    const r = await runJson(['storm', '--to', '60', '--ramp', '8s', '--hold', '4s', '--batch', '10', '--gzip']);
    expect(r.scenario).toBe('storm');
    expect(r.stopReason).toBe('completed');
    expect(r.target).toMatchObject({ batch: 10, gzip: true });
    // 0 → 60/s over 8 s is 240 requests, then 60/s for 4 s is 240 more.
    expect(r.totals.intended).toBe(480);
    expect(r.totals.eventsSent).toBe(4800);
    expect(r.totals.targetRate).toBe(60);
    expect(r.totals.errorRate).toBeLessThan(0.01);
    expect(r.totals.eventsAcked).toBe(r.totals.ok * 10);
    // The ramp is visible in the timeline: the first seconds send less than the last ones.
    const sent = r.timeline.map((p) => p.sentRate);
    expect(sent[1]!).toBeLessThan(sent[sent.length - 2]!);
    expectDeliveryProven(r);

    const html = readFileSync(r.files.html, 'utf8');
    expect(html).toContain('delivery proven');
    const page = await screenshotReport(r.files.html, path.join(ARTIFACTS, 'bench-storm-report.png'));
    expect(page.externalRequests).toEqual([]);
    expect(page.consoleErrors).toEqual([]);
    expect(page.svgCount).toBeGreaterThanOrEqual(6);
    expect(page.heading).toContain('PASSED');
    expect(page.verdict).toBe('Run PASSED');
    expect(statSync(path.join(ARTIFACTS, 'bench-storm-report.png')).size).toBeGreaterThan(20_000);
  });

  it('websocket: 5 s at 40 messages/s of 10 events over /v1/stream, proven', async () => {
    const r = await runJson(['constant', '--target', 'ws', '--rate', '40', '--duration', '5s', '--batch', '10', '--connections', '2', '--window', '8']);
    expect(r.target).toMatchObject({ kind: 'ws', batch: 10, window: 8 });
    expect(r.totals.intended).toBe(200);
    expect(r.totals.errorRate).toBe(0);
    expect(r.totals.eventsAcked).toBe(2000);
    expectDeliveryProven(r);
  });

  it('history lists the stored runs and compare reads two back', async () => {
    const history = await cli(['history', '--limit', '10']);
    expect(history.code, history.stderr).toBe(0);
    for (const r of runs) expect(history.stdout).toContain(r.runId);
    expect(history.stdout).toMatch(/storm\s+http\s+10/);

    const compare = await cli(['compare', runs[0]!.runId, runs[1]!.runId]);
    expect(compare.code, compare.stderr).toBe(0);
    expect(compare.stdout).toContain(`A ${runs[0]!.runId}: constant http batch 1`);
    expect(compare.stdout).toContain(`B ${runs[1]!.runId}: storm http batch 10 gzip`);
    expect(compare.stdout).toMatch(/latency p99 ms/);
    expect(compare.stdout).toMatch(/delivery\s+pass \(4000\/4000 rows, 0 dup\)/);

    const missing = await cli(['compare', 'no-such-run', runs[0]!.runId]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error NOT_FOUND: no bench run no-such-run');
  });

  it('says a missing API key before the run starts: exit 1, UNAUTHORIZED, no report written', async () => {
    const { FLOODGATE_API_KEY: _key, ...noKey } = benchEnv();
    const out = path.join(outRoot, 'no-key');
    const result = await cli(['constant', '--rate', '10', '--duration', '2s', '--url', pipeline.gatewayUrl, '--no-store', '--out', out], 60_000, noKey);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stderr).toContain('floodgate: error UNAUTHORIZED: no API key: the gateway at');
    expect(result.stderr).toContain('pass --api-key <key> or set FLOODGATE_API_KEY');
    // Refused before the run: no progress, no summary, no report folder.
    expect(result.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    const wrong = await cli(['constant', '--rate', '10', '--duration', '2s', '--url', pipeline.gatewayUrl, '--no-store', '--api-key', 'not-a-key-0000', '--out', out], 60_000, noKey);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('refused the API key (401)');
    expect(existsSync(out)).toBe(false);
  });

  it('a run whose every request fails exits 1; its summary and HTML report say FAILED first, with no delivery PASS', async () => {
    // Nothing listens on this port: all 20 requests fail; the proof still runs (and finds nothing to prove).
    const deadUrl = `http://127.0.0.1:${await freePort()}`;
    const out = path.join(outRoot, 'all-failed');
    const result = await cli(['constant', '--rate', '10', '--duration', '2s', '--url', deadUrl, '--no-store', '--quiet', '--out', out]);
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as BenchReport;
    expect(report.totals.sent).toBe(20);
    expect(report.totals.failed).toBe(20);
    expect(report.verdict).toEqual({ ok: false, reasons: ['20 of 20 requests failed (100 %): net ECONNREFUSED ×20'] });
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('verdict: FAILED: 20 of 20 requests failed (100 %): net ECONNREFUSED ×20');
    expect(result.stdout).not.toMatch(/delivery proof: PASS/);
    expect(result.stderr).toContain('bench: run FAILED: 20 of 20 requests failed');
    const page = await screenshotReport(path.join(out, 'report.html'), path.join(ARTIFACTS, 'bench-failed-report.png'));
    expect(page.heading).toContain('FAILED');
    expect(page.heading).not.toContain('delivery proven');
    expect(page.verdict).toBe('Run FAILED\n20 of 20 requests failed (100 %): net ECONNREFUSED ×20');
    expect(page.consoleErrors).toEqual([]);
  });

  it('refuses a remote target and an unbounded run before sending anything', async () => {
    const remote = await cli(['constant', '--rate', '10', '--duration', '1s', '--url', 'http://192.0.2.1:8080', '--no-proof', '--no-store']);
    expect(remote.code).toBe(1);
    expect(remote.stderr).toContain('is not on this machine');
    const long = await cli(['soak', '--rate', '10', '--duration', '2h', '--url', pipeline.gatewayUrl, '--no-proof', '--no-store']);
    expect(long.code).toBe(1);
    expect(long.stderr).toContain('the scenario lasts 2h, longer than --max-duration 1h');
  });
});
