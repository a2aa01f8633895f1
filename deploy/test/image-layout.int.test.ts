import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouse } from '@floodgate/clickhouse';
import { clickhouseUrl } from '@floodgate/config';
import { freePort, sharedNatsCredentials, stackConfigForTests, uniqueName, waitFor } from '@floodgate/testkit';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The image's file layout without Docker: deploy/docker/build-layout.sh runs the Dockerfile's
 * stages into a folder outside the repository (so nothing resolves from the repository's
 * node_modules), then the compiled apps run from it with plain node against the local stack, on
 * their own topic, group, database, NATS prefix and ports.
 */
describe('image layout: compiled apps from deploy/docker/build-layout.sh', () => {
  const stack = stackConfigForTests();
  const out = mkdtempSync(path.join(tmpdir(), 'floodgate-image-'));
  const app = path.join(out, 'app');
  const entrypoint = path.join(app, 'bin', 'floodgate-entrypoint');
  const database = uniqueName('it_image');
  const API_KEY = 'test-key-image-layout-0001';
  const children: ChildProcess[] = [];
  let env: NodeJS.ProcessEnv;
  let clickhouse: ClickHouseClient;
  let gatewayPort: number;
  let adminPort: number;

  beforeAll(async () => {
    const build = spawnSync('bash', [path.join(REPO_ROOT, 'deploy/docker/build-layout.sh'), out], { encoding: 'utf8', timeout: 150_000 });
    if (build.status !== 0) throw new Error(`build-layout.sh failed (${build.status ?? build.signal}):\n${build.stdout}\n${build.stderr}`);
    gatewayPort = await freePort();
    adminPort = await freePort();
    // No loader may come in from the test runner's environment: the layout must run on its own.
    const { NODE_OPTIONS: _ignored, ...inherited } = process.env;
    env = {
      ...inherited,
      NODE_ENV: 'production',
      KAFKA_BROKERS: stack.KAFKA_BROKERS.join(','),
      NATS_URL: stack.NATS_URL,
      ...sharedNatsCredentials(stack),
      CLICKHOUSE_URL: clickhouseUrl(stack),
      CLICKHOUSE_USER: stack.CLICKHOUSE_USER,
      CLICKHOUSE_PASSWORD: stack.CLICKHOUSE_PASSWORD,
      CLICKHOUSE_DATABASE: database,
      KAFKA_TOPIC: uniqueName('image_events'),
      KAFKA_DLQ_TOPIC: uniqueName('image_events_dlq'),
      KAFKA_PARTITIONS: '2',
      KAFKA_REPLICATION_FACTOR: '1',
      KAFKA_MIN_INSYNC_REPLICAS: '1',
      SINK_GROUP_ID: uniqueName('image_sink'),
      SINK_NATS_PREFIX: uniqueName('image'),
      SINK_ADMIN_PORT: '0',
      SINK_PROCESSES: '1',
      GATEWAY_PORT: String(gatewayPort),
      ADMIN_PORT: String(adminPort),
      GATEWAY_PROCESSES: '1',
      INGEST_THREADS: '1',
      FLOODGATE_API_KEYS: `default:${API_KEY}`,
      OTEL_SDK_DISABLED: 'true',
      LOG_LEVEL: 'info',
    };
    clickhouse = createClickHouse({ url: clickhouseUrl(stack), username: stack.CLICKHOUSE_USER, password: stack.CLICKHOUSE_PASSWORD, database: 'default' });
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await clickhouse?.close();
    rmSync(out, { recursive: true, force: true });
  });

  function start(command: string): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; output: () => string } {
    const child = spawn(entrypoint, [command], { cwd: out, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    return { child, exited, output: () => output };
  }

  it('holds compiled JavaScript and production dependencies only: no .ts, no tsx, no chdb, no typescript', () => {
    const ts = spawnSync('find', [app, '-name', '*.ts', '-not', '-path', '*/node_modules/*'], { encoding: 'utf8' });
    expect(ts.stdout.trim()).toBe('');
    for (const dep of ['tsx', 'chdb', 'typescript', 'vitest', '@floodgate/chdb-server', '@floodgate/testkit']) {
      expect(existsSync(path.join(app, 'node_modules', dep)), dep).toBe(false);
    }
    expect(readdirSync(path.join(app, 'apps/gateway/src'))).toContain('main.js');
  });

  it('runs `floodgate --help` with exit code 0', () => {
    const result = spawnSync(entrypoint, ['floodgate', '--help'], { cwd: out, env, encoding: 'utf8', timeout: 60_000 });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: floodgate \[options\] \[command\]/);
    // Every command is listed (the help loads no command module, so it shows names, not options).
    for (const command of ['stack', 'start', 'status', 'sink', 'bench', 'trace', 'traces']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\s`, 'm'));
    }
  });

  it('serves one event end to end (POST → gateway → Kafka → sink → ClickHouse) and both apps exit 0 on SIGTERM', async () => {
    const gateway = start('gateway');
    const sink = start('sink');
    await waitFor(
      async () => {
        if (gateway.child.exitCode !== null) throw new Error(`gateway exited ${gateway.child.exitCode}:\n${gateway.output()}`);
        const response = await fetch(`http://127.0.0.1:${adminPort}/readyz`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
        return response?.status === 200;
      },
      { timeoutMs: 90_000, intervalMs: 250, description: 'the compiled gateway ready' },
    );
    const response = await fetch(`http://127.0.0.1:${gatewayPort}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      body: '{"type":"image.check","data":{"from":"compiled"}}',
      // An answer must come: a gateway that cannot reach its ingest threads fails here, not at the test timeout.
      signal: AbortSignal.timeout(30_000),
    });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { accepted: number; ids: string[] };
    expect(body.accepted).toBe(1);
    const id = body.ids[0]!;
    await waitFor(
      async () => {
        if (sink.child.exitCode !== null) throw new Error(`sink exited ${sink.child.exitCode}:\n${sink.output()}`);
        const result = await clickhouse
          .query({ query: `SELECT type, tenant, data FROM ${database}.events WHERE id = {id:String}`, query_params: { id }, format: 'JSONEachRow' })
          .catch(() => undefined);
        return result ? (await result.json()).length === 1 : false;
      },
      { timeoutMs: 90_000, intervalMs: 250, description: `event ${id} in ClickHouse via the compiled sink` },
    );
    const rows = await (
      await clickhouse.query({ query: `SELECT type, tenant, data FROM ${database}.events WHERE id = {id:String}`, query_params: { id }, format: 'JSONEachRow' })
    ).json();
    expect(rows).toEqual([{ type: 'image.check', tenant: 'default', data: '{"from":"compiled"}' }]);

    gateway.child.kill('SIGTERM');
    sink.child.kill('SIGTERM');
    const [gatewayExit, sinkExit] = await Promise.all([gateway.exited, sink.exited]);
    expect(gatewayExit, gateway.output()).toEqual({ code: 0, signal: null });
    expect(sinkExit, sink.output()).toEqual({ code: 0, signal: null });
  });
});
