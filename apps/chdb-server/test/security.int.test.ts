import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import { createLogger } from '@floodgate/logging';
import { createChdbServer } from '../src/index.ts';

/**
 * The embedded endpoint's locks: only its credentials run queries, a browser page on another site
 * cannot drive it, and a query past max_execution_time is cancelled so the inserts queued behind it
 * run. A private server in this test process (chDB allows one data folder per process).
 */
const logger = createLogger('chdb-server-security-test', { level: process.env.LOG_LEVEL ?? 'silent' });
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chdb-server-sec-'));
const USER = 'floodgate';
const PASSWORD = 'p4ss-w0rd:with=odd&chars';
const MAX_EXECUTION_TIME_S = 2;
const server = createChdbServer({
  host: '127.0.0.1',
  port: 0,
  dataDir,
  logger,
  credentials: { user: USER, password: PASSWORD },
  maxExecutionTimeS: MAX_EXECUTION_TIME_S,
});
let url = '';
const clients: ClickHouseClient[] = [];

function client(config: ClickHouseClientConfigOptions = {}): ClickHouseClient {
  const c = createClient({ url, request_timeout: 60_000, log: { level: ClickHouseLogLevel.OFF }, username: USER, password: PASSWORD, ...config });
  clients.push(c);
  return c;
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

async function post(sql: string, headers: Record<string, string> = {}, search = ''): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(`${url}/${search}`, { method: 'POST', body: sql, headers });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

function corsHeaders(headers: Headers): string[] {
  return [...headers.keys()].filter((name) => name.toLowerCase().startsWith('access-control-'));
}

beforeAll(async () => {
  const { port } = await server.listen();
  url = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('chdb-server authentication', () => {
  it('refuses a query without credentials with 401 REQUIRED_PASSWORD, and @clickhouse/client given none (it sends default, no password) with 516', async () => {
    const answer = await post('SELECT 1');
    expect(answer.status).toBe(401);
    expect(answer.body).toMatch(/^Code: 194\. DB::Exception: Authentication required.*\(REQUIRED_PASSWORD\) \(version .*\)\n$/s);
    expect(answer.headers.get('x-clickhouse-exception-code')).toBe('194');

    const anonymous = createClient({ url, log: { level: ClickHouseLogLevel.OFF } });
    clients.push(anonymous);
    const error = await anonymous.query({ query: 'SELECT 1', format: 'JSONEachRow' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ClickHouseError);
    // The client sends user "default" with an empty password when given none.
    expect((error as ClickHouseError).code).toBe('516');
  });

  it('refuses wrong credentials with 403 AUTHENTICATION_FAILED whichever way they are sent', async () => {
    const attempts: Array<[Record<string, string>, string]> = [
      [{ Authorization: basic(USER, 'wrong') }, ''],
      [{ Authorization: basic('default', PASSWORD) }, ''],
      [{ 'X-ClickHouse-User': USER, 'X-ClickHouse-Key': `${PASSWORD}x` }, ''],
      [{}, `?user=${USER}&password=nope`],
      [{ Authorization: 'Bearer abc' }, ''],
    ];
    for (const [headers, search] of attempts) {
      const answer = await post('SELECT 1', headers, search);
      expect({ status: answer.status, code: answer.headers.get('x-clickhouse-exception-code') }).toEqual({ status: 403, code: '516' });
      expect(answer.body).toMatch(/\(AUTHENTICATION_FAILED\) \(version .*\)\n$/);
    }
    const error = await client({ password: 'wrong' }).query({ query: 'SELECT 1' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as ClickHouseError).code).toBe('516');
  });

  it('answers the right credentials sent as basic auth, X-ClickHouse headers or URL parameters', async () => {
    const ways: Array<[Record<string, string>, string]> = [
      [{ Authorization: basic(USER, PASSWORD) }, ''],
      [{ 'X-ClickHouse-User': USER, 'X-ClickHouse-Key': PASSWORD }, ''],
      [{}, `?user=${USER}&password=${encodeURIComponent(PASSWORD)}`],
    ];
    for (const [headers, search] of ways) {
      const answer = await post('SELECT 41 + 1', headers, search);
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: '42\n' });
    }
    const result = await client().query({ query: 'SELECT 1 AS ok', format: 'JSONEachRow' });
    expect(await result.json()).toEqual([{ ok: 1 }]);
  });

  it('keeps /ping open for health checks, as ClickHouse does', async () => {
    const response = await fetch(`${url}/ping`);
    expect({ status: response.status, body: await response.text() }).toEqual({ status: 200, body: 'Ok.\n' });
  });
});

describe('chdb-server refuses browser cross-site requests', () => {
  it('answers 403 to a request carrying a foreign Origin, even with the right credentials, and sends no CORS headers', async () => {
    const answer = await post('SELECT 1', { Origin: 'http://evil.example', Authorization: basic(USER, PASSWORD) });
    expect(answer.status).toBe(403);
    expect(answer.body).toMatch(/^Code: 497\. DB::Exception: Cross-origin request refused: Origin "http:\/\/evil\.example".*\(ACCESS_DENIED\)/);
    expect(corsHeaders(answer.headers)).toEqual([]);

    const preflight = await fetch(`${url}/`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' },
    });
    expect(preflight.status).toBe(403);
    expect(corsHeaders(preflight.headers)).toEqual([]);

    const ping = await fetch(`${url}/ping`, { headers: { Origin: 'http://evil.example' } });
    expect(ping.status).toBe(403);
  });

  it('answers 403 to a no-Origin browser request marked Sec-Fetch-Site: cross-site (an <img> GET)', async () => {
    const response = await fetch(`${url}/?query=SELECT%201&user=${USER}&password=${encodeURIComponent(PASSWORD)}`, { headers: { 'Sec-Fetch-Site': 'cross-site' } });
    expect(response.status).toBe(403);
    expect(await response.text()).toMatch(/\(ACCESS_DENIED\)/);
  });

  it('accepts its own origin', async () => {
    const answer = await post('SELECT 1', { Origin: url, Authorization: basic(USER, PASSWORD) });
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: '1\n' });
  });
});

describe('chdb-server max_execution_time', () => {
  it('cancels a query past the server default and runs the insert queued behind it promptly', async () => {
    const c = client();
    await c.command({ query: 'CREATE TABLE default.behind (n UInt32) ENGINE = MergeTree ORDER BY n' });
    const started = Date.now();
    const endless = c.query({ query: 'SELECT count() FROM system.numbers', format: 'JSONEachRow' }).then(
      () => ({ error: undefined, at: Date.now() }),
      (e: unknown) => ({ error: e, at: Date.now() }),
    );
    // Queued behind the endless query: the server runs one query at a time.
    const insert = client().insert({ table: 'default.behind', values: [{ n: 1 }, { n: 2 }, { n: 3 }], format: 'JSONEachRow' }).then(() => Date.now());
    const failed = await endless;
    expect(failed.error).toBeInstanceOf(ClickHouseError);
    expect((failed.error as ClickHouseError).code).toBe('159');
    expect((failed.error as ClickHouseError).message).toMatch(/Timeout exceeded: elapsed .* maximum: 2000 ms/);
    expect(failed.at - started).toBeGreaterThanOrEqual(MAX_EXECUTION_TIME_S * 1000 - 100);
    const inserted = await insert;
    // The insert itself takes milliseconds; it waited only for the cancelled query.
    expect(inserted - failed.at).toBeLessThan(10_000);
    const rows = await (await c.query({ query: 'SELECT count() AS c FROM default.behind', format: 'JSONEachRow' })).json<{ c: number }>();
    expect(rows).toEqual([{ c: 3 }]);
  });

  it("honours a request's own max_execution_time", async () => {
    const error = await client()
      .query({ query: 'SELECT count() FROM system.numbers', format: 'JSONEachRow', clickhouse_settings: { max_execution_time: 1 } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((error as ClickHouseError).code).toBe('159');
    expect((error as ClickHouseError).message).toMatch(/maximum: 1000 ms/);
  });
});
