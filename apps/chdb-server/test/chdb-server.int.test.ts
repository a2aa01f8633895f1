import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import { createLogger } from '@floodgate/logging';
import { createChdbServer } from '../src/index.ts';

/**
 * The server runs in this test process (chDB allows one data folder per process; vitest gives each
 * test file its own), driven by @clickhouse/client exactly as the pipeline drives it. The last block
 * starts main.ts as a child process, as the stack manager does.
 */
const logger = createLogger('chdb-server-test', { level: process.env.LOG_LEVEL ?? 'silent' });
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chdb-server-int-'));
const server = createChdbServer({ host: '127.0.0.1', port: 0, dataDir, logger });
let url = '';
const clients: ClickHouseClient[] = [];

function client(config: ClickHouseClientConfigOptions = {}): ClickHouseClient {
  const c = createClient({ url, request_timeout: 120_000, log: { level: ClickHouseLogLevel.OFF }, ...config });
  clients.push(c);
  return c;
}

async function rows<T>(c: ClickHouseClient, query: string, query_params?: Record<string, unknown>): Promise<T[]> {
  const result = await c.query({ query, format: 'JSONEachRow', query_params });
  return result.json<T>();
}

async function count(c: ClickHouseClient, table: string): Promise<number> {
  const [row] = await rows<{ c: number }>(c, `SELECT count() AS c FROM ${table}`);
  return row!.c;
}

async function rejection(promise: Promise<unknown>): Promise<ClickHouseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ClickHouseError);
  return error as ClickHouseError;
}

function eventRows(n: number, offset = 0) {
  return Array.from({ length: n }, (_, i) => ({
    id: `evt-${offset + i}`,
    tenant: `tenant-${(offset + i) % 7}`,
    seq: offset + i,
    time: new Date(Date.UTC(2024, 0, 1) + (offset + i) * 1000).toISOString(),
    data: JSON.stringify({ n: offset + i, text: `payload "${offset + i}" it's \\ fine` }),
  }));
}

const EVENTS_DDL = (table: string) => `
  CREATE TABLE ${table} (
    id String,
    tenant LowCardinality(String),
    seq UInt64,
    time DateTime64(3, 'UTC'),
    data String
  ) ENGINE = MergeTree ORDER BY (tenant, seq)
  SETTINGS non_replicated_deduplication_window = 100`;

beforeAll(async () => {
  const { port } = await server.listen();
  expect(port).toBeGreaterThan(0);
  url = `http://127.0.0.1:${port}`;
  const c = client();
  await c.command({ query: 'CREATE DATABASE it' });
  await c.command({ query: EVENTS_DDL('it.events') });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('chdb-server through @clickhouse/client', () => {
  it('answers /ping, / and a SELECT ping', async () => {
    const c = client();
    await expect(c.ping()).resolves.toEqual({ success: true });
    await expect(c.ping({ select: true })).resolves.toEqual({ success: true });
    for (const p of ['/ping', '/']) {
      const res = await fetch(`${url}${p}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('Ok.\n');
    }
  });

  it('runs commands (DDL) and shows their effect', async () => {
    const c = client();
    await c.command({ query: 'CREATE TABLE it.kv (k UInt32, v String) ENGINE = MergeTree ORDER BY k' });
    const tables = await rows<{ name: string }>(c, "SELECT name FROM system.tables WHERE database = 'it' ORDER BY name");
    expect(tables.map((t) => t.name)).toEqual(['events', 'kv']);
  });

  it('inserts JSONEachRow rows and reads them back exactly', async () => {
    const c = client();
    await c.command({ query: EVENTS_DDL('it.roundtrip') });
    const input = eventRows(3);
    const result = await c.insert({ table: 'it.roundtrip', values: input, format: 'JSONEachRow', clickhouse_settings: { date_time_input_format: 'best_effort' } });
    expect(result.executed).toBe(true);
    expect(result.summary?.written_rows).toBe('3');
    expect(await count(c, 'it.roundtrip')).toBe(3);
    const back = await rows<{ id: string; seq: number; data: string; ms: number }>(
      c,
      'SELECT id, seq, data, toUnixTimestamp64Milli(time) AS ms FROM it.roundtrip ORDER BY seq',
    );
    expect(back.map((r) => r.id)).toEqual(input.map((r) => r.id));
    expect(back.map((r) => r.data)).toEqual(input.map((r) => r.data));
    expect(back.map((r) => r.seq)).toEqual([0, 1, 2]); // UInt64 unquoted: the default since ClickHouse 25.8
    expect(back.map((r) => r.ms)).toEqual(input.map((r) => Date.parse(r.time)));
  });

  it('binds parameters server-side: quotes, backslashes, numbers, arrays', async () => {
    const c = client();
    const nasty = `it's "quoted" \\ back\\slash\ttab\nnewline' OR '1'='1`;
    const [row] = await rows<{ s: string; n: string; f: number; arr: string[]; ids: number[]; t: [number, string] }>(
      c,
      'SELECT {s:String} AS s, toString({n:UInt64}) AS n, {f:Float64} AS f, {arr:Array(String)} AS arr, {ids:Array(UInt32)} AS ids',
      { s: nasty, n: '18446744073709551615', f: 2.5, arr: ["a'b", 'c\\d', 'e,f]'], ids: [1, 2, 3] },
    );
    expect(row).toEqual({ s: nasty, n: '18446744073709551615', f: 2.5, arr: ["a'b", 'c\\d', 'e,f]'], ids: [1, 2, 3] });

    // An injection attempt stays a value.
    await c.insert({ table: 'it.kv', values: [{ k: 1, v: 'alpha' }, { k: 2, v: "o'brien" }], format: 'JSONEachRow' });
    const hit = await rows<{ k: number }>(c, 'SELECT k FROM it.kv WHERE v = {v:String}', { v: "o'brien" });
    expect(hit).toEqual([{ k: 2 }]);
    const none = await rows<{ k: number }>(c, 'SELECT k FROM it.kv WHERE v = {v:String}', { v: "x' OR '1'='1" });
    expect(none).toEqual([]);
    const inList = await rows<{ k: number }>(c, 'SELECT k FROM it.kv WHERE k IN {ks:Array(UInt32)} ORDER BY k', { ks: [1, 2, 9] });
    expect(inList).toEqual([{ k: 1 }, { k: 2 }]);
  });

  it('binds parameters sent as multipart/form-data', async () => {
    const c = client({ use_multipart_params: true });
    const [row] = await rows<{ s: string; a: number[] }>(c, 'SELECT {s:String} AS s, {a:Array(UInt8)} AS a', { s: "x'\\y\n", a: [7, 8] });
    expect(row).toEqual({ s: "x'\\y\n", a: [7, 8] });
  });

  it('reports a missing parameter as ClickHouse does', async () => {
    const error = await rejection(client().query({ query: 'SELECT {missing:String}', format: 'JSONEachRow' }));
    expect(error.type).toBe('UNKNOWN_QUERY_PARAMETER');
  });

  it('applies URL settings to one query only', async () => {
    const c = client();
    const setting = async (settings?: Record<string, string | number>) => {
      const r = await c.query({ query: "SELECT getSetting('max_block_size') AS v", format: 'JSONEachRow', clickhouse_settings: settings });
      return String((await r.json<{ v: unknown }>())[0]!.v);
    };
    const before = await setting();
    expect(before).not.toBe('1234');
    expect(await setting({ max_block_size: 1234 })).toBe('1234');
    expect(await setting()).toBe(before);

    // 26.7 writes 64-bit integers unquoted by default; a per-query setting changes that, once.
    expect(await rows<{ n: unknown }>(c, 'SELECT toUInt64(5) AS n')).toEqual([{ n: 5 }]);
    const quoted = await c.query({
      query: 'SELECT toUInt64(5) AS n',
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    });
    expect(await quoted.json()).toEqual([{ n: '5' }]);
    expect(await rows<{ n: unknown }>(c, 'SELECT toUInt64(5) AS n')).toEqual([{ n: 5 }]);
  });

  it('uses the database parameter per request', async () => {
    const inIt = client({ database: 'it' });
    expect(await rows<{ d: string }>(inIt, 'SELECT currentDatabase() AS d')).toEqual([{ d: 'it' }]);
    expect(await count(inIt, 'kv')).toBe(2); // unqualified name resolves in `it`
    expect(await rows<{ d: string }>(client(), 'SELECT currentDatabase() AS d')).toEqual([{ d: 'default' }]);
    const error = await rejection(client({ database: 'nope_db' }).query({ query: 'SELECT 1' }));
    expect(error.code).toBe('81');
    expect(error.type).toBe('UNKNOWN_DATABASE');
  });

  it('deduplicates a repeated insert carrying the same insert_deduplication_token', async () => {
    const c = client();
    await c.command({ query: EVENTS_DDL('it.dedup') });
    const blockA = eventRows(100, 0);
    const blockB = eventRows(100, 100);
    const insert = (values: object[], token: string) =>
      c.insert({ table: 'it.dedup', values, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: token } });
    await insert(blockA, 'partition-0:0-99');
    expect(await count(c, 'it.dedup')).toBe(100);
    await insert(blockA, 'partition-0:0-99'); // a retry of the same batch
    expect(await count(c, 'it.dedup')).toBe(100);
    await insert(blockB, 'partition-0:0-99'); // other rows, same token: dropped, so the token is what counts
    expect(await count(c, 'it.dedup')).toBe(100);
    await insert(blockB, 'partition-0:100-199');
    expect(await count(c, 'it.dedup')).toBe(200);
  });

  it('surfaces SQL errors as ClickHouseError with code, type and ClickHouse status', async () => {
    const c = client();
    const unknownTable = await rejection(c.query({ query: 'SELECT * FROM it.nope' }));
    expect(unknownTable.code).toBe('60');
    expect(unknownTable.type).toBe('UNKNOWN_TABLE');
    const syntax = await rejection(c.command({ query: 'SELEC 1' }));
    expect(syntax.code).toBe('62');
    expect(syntax.type).toBe('SYNTAX_ERROR');
    const badRow = await rejection(c.insert({ table: 'it.kv', values: [{ k: 'not a number', v: 'x' }], format: 'JSONEachRow' }));
    expect(badRow.type).toMatch(/^CANNOT_PARSE/);
    const unknownSetting = await rejection(c.query({ query: 'SELECT 1', clickhouse_settings: { no_such_setting_at_all: 1 } as Record<string, number> }));
    expect(unknownSetting.type).toBe('UNKNOWN_SETTING');

    const statusOf = async (sql: string) => {
      const res = await fetch(url, { method: 'POST', body: sql });
      return { status: res.status, code: res.headers.get('x-clickhouse-exception-code'), body: await res.text() };
    };
    expect(await statusOf('SELECT * FROM it.nope')).toMatchObject({ status: 404, code: '60' });
    const syntaxAnswer = await statusOf('SELEC 1');
    expect(syntaxAnswer).toMatchObject({ status: 400, code: '62' });
    expect(syntaxAnswer.body).toMatch(/^Code: 62\. DB::Exception: Syntax error.*\(SYNTAX_ERROR\) \(version 26\.\d+[^)]*\)\n$/s);
    expect(await statusOf('SELECT throwIf(1)')).toMatchObject({ status: 500, code: '395' });
    expect(await statusOf('')).toMatchObject({ status: 400, code: '62' });
  });

  it('runs GET queries read-only, as ClickHouse does', async () => {
    const ok = await fetch(`${url}/?query=${encodeURIComponent('SELECT 40 + 2')}`);
    expect(await ok.text()).toBe('42\n');
    const res = await fetch(`${url}/?query=${encodeURIComponent('CREATE TABLE it.ro (a UInt8) ENGINE = Memory')}`);
    expect(res.headers.get('x-clickhouse-exception-code')).toBe('164'); // READONLY
  });

  it('supports exec() and several output formats', async () => {
    const c = client();
    const exec = await c.exec({ query: 'SELECT number FROM numbers(3) FORMAT JSONEachRow' });
    const text = await new Response(Readable.toWeb(exec.stream) as ReadableStream).text();
    expect(text).toBe('{"number":0}\n{"number":1}\n{"number":2}\n');

    // exec with a body: query in the URL, rows in the body, through the general (non raw) path.
    await c.exec({ query: 'INSERT INTO `it`.`kv` FORMAT CSV', values: Readable.from(['10,"ten"\n11,"eleven"\n']) });
    const inserted = await rows<{ v: string }>(c, 'SELECT v FROM it.kv WHERE k >= 10 ORDER BY k');
    expect(inserted).toEqual([{ v: 'ten' }, { v: 'eleven' }]);

    const tsv = await c.query({ query: 'SELECT k, v FROM it.kv WHERE k IN (1, 2) ORDER BY k', format: 'TabSeparated' });
    expect(tsv.response_headers['x-clickhouse-format']).toBe('TabSeparated');
    expect(await tsv.text()).toBe("1\talpha\n2\to\\'brien\n");
    const csv = await c.query({ query: 'SELECT k, v FROM it.kv WHERE k = 1', format: 'CSVWithNames' });
    expect(await csv.text()).toBe('"k","v"\n1,"alpha"\n');
    const json = await c.query({ query: 'SELECT 1 AS one', format: 'JSON' });
    const doc = await json.json<{ one: number }>();
    expect(doc.data).toEqual([{ one: 1 }]);
    expect(doc.meta).toEqual([{ name: 'one', type: 'UInt8' }]);
  });

  it('accepts gzip request bodies and gzips answers when asked', async () => {
    const c = client({ compression: { request: true, response: true } });
    await c.command({ query: EVENTS_DDL('it.gz') });
    await c.insert({ table: 'it.gz', values: eventRows(1000), format: 'JSONEachRow' });
    const result = await c.query({ query: 'SELECT count() AS c, sum(seq) AS s FROM it.gz', format: 'JSONEachRow' });
    expect(result.response_headers['content-encoding']).toBe('gzip');
    expect(await result.json()).toEqual([{ c: 1000, s: (999 * 1000) / 2 }]);
    // Without enable_http_compression the answer is plain, whatever Accept-Encoding says.
    const plain = await client().query({ query: 'SELECT 1', format: 'JSONEachRow' });
    expect(plain.response_headers['content-encoding']).toBeUndefined();
  });

  it('inserts 20k rows in one request', async () => {
    const c = client();
    await c.command({ query: EVENTS_DDL('it.bulk') });
    const values = eventRows(20_000);
    const result = await c.insert({ table: 'it.bulk', values, format: 'JSONEachRow' });
    expect(result.summary?.written_rows).toBe('20000');
    const [stats] = await rows<{ c: number; s: number; u: number }>(c, 'SELECT count() AS c, sum(seq) AS s, uniqExact(id) AS u FROM it.bulk');
    expect(stats).toEqual({ c: 20_000, s: (19_999 * 20_000) / 2, u: 20_000 });
  });

  it('skips a queued query whose client gave up before it started', async () => {
    const c = client();
    await c.command({ query: 'CREATE TABLE it.abandoned (k UInt32) ENGINE = MergeTree ORDER BY k' });
    const slow = c.query({ query: 'SELECT sleep(0.6) AS s', format: 'JSONEachRow' }).then((r) => r.json());
    await new Promise((r) => setTimeout(r, 100)); // the SELECT is running, the insert will queue behind it
    const controller = new AbortController();
    const abandoned = c.insert({ table: 'it.abandoned', values: [{ k: 1 }], format: 'JSONEachRow', abort_signal: controller.signal });
    setTimeout(() => controller.abort(), 150);
    await expect(abandoned).rejects.toThrow(/abort/i);
    await expect(slow).resolves.toEqual([{ s: 0 }]);
    expect(await count(c, 'it.abandoned')).toBe(0);
  });

  it('refuses work beyond its queue with a 503 carrying a ClickHouse error', async () => {
    // A second server on the same data folder (allowed within one process), with a tiny queue.
    const small = createChdbServer({ host: '127.0.0.1', port: 0, dataDir, logger, maxQueuedQueries: 1 });
    const { port } = await small.listen();
    try {
      const c = createClient({ url: `http://127.0.0.1:${port}`, max_open_connections: 10, log: { level: ClickHouseLogLevel.OFF } });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 6 }, () => c.query({ query: 'SELECT sleep(0.5) AS s', format: 'JSONEachRow' }).then((r) => r.json())),
      );
      await c.close();
      const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason as ClickHouseError);
      expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBeGreaterThanOrEqual(2);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      for (const error of refused) {
        expect(error).toBeInstanceOf(ClickHouseError);
        expect(error.code).toBe('202');
        expect(error.type).toBe('TOO_MANY_SIMULTANEOUS_QUERIES');
      }
      const res = await Promise.all([
        fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'SELECT sleep(0.5)' }),
        fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'SELECT sleep(0.5)' }),
        fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'SELECT sleep(0.5)' }),
      ]);
      expect(res.map((r) => r.status).sort()).toEqual([200, 200, 503]);
    } finally {
      await small.close();
    }
    // The main server is unaffected.
    expect(await count(client(), 'it.kv')).toBeGreaterThan(0);
  });
});

describe('main.ts as a process', () => {
  const mainFile = fileURLToPath(new URL('../src/main.ts', import.meta.url));

  it('starts from env vars, logs its port, finishes the running query on SIGTERM and exits 0', async () => {
    const childDir = mkdtempSync(path.join(os.tmpdir(), 'chdb-server-main-'));
    const child = spawn(process.execPath, ['--import', 'tsx', mainFile], {
      env: { ...process.env, CHDB_SERVER_HOST: '127.0.0.1', CHDB_SERVER_PORT: '0', CHDB_DATA_DIR: path.join(childDir, 'data'), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Array<Record<string, unknown>> = [];
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let buffered = '';
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
            buffered = buffered.slice(nl + 1);
            lines.push(line);
            if (line.msg === 'chdb-server listening') resolve(line.port as number);
          }
        });
        void exited.then((code) => reject(new Error(`chdb-server exited with ${code} before listening: ${stderr}`)));
      });
      expect(port).toBeGreaterThan(0);
      const c = createClient({ url: `http://127.0.0.1:${port}`, log: { level: ClickHouseLogLevel.OFF } });
      expect((await c.ping()).success).toBe(true);
      const running = c.query({ query: 'SELECT sleep(1) AS s, 7 AS n', format: 'JSONEachRow' }).then((r) => r.json());
      await new Promise((r) => setTimeout(r, 300)); // the query is now running inside chDB
      child.kill('SIGTERM');
      await expect(running).resolves.toEqual([{ s: 0, n: 7 }]);
      expect(await exited).toBe(0);
      await c.close();
      expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['chdb-server listening', 'chdb-server stopping', 'chdb-server stopped']));
    } finally {
      child.kill('SIGKILL');
      rmSync(childDir, { recursive: true, force: true });
    }
  });
});
