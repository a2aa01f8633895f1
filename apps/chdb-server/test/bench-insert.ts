/**
 * Insert throughput through @clickhouse/client against chdb-server, the way the sink inserts:
 * JSONEachRow batches with an insert_deduplication_token into an events-shaped MergeTree table.
 *
 *   node --import tsx apps/chdb-server/test/bench-insert.ts            # starts main.ts in a child process
 *   BENCH_URL=http://127.0.0.1:8123 node --import tsx apps/chdb-server/test/bench-insert.ts
 *
 * BENCH_BATCHES (default 20) batches of BENCH_ROWS (default 10000) rows. Prints JSON lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@clickhouse/client';
import { createLogger } from '@floodgate/logging';

const logger = createLogger('chdb-server-bench');
const batches = Number(process.env.BENCH_BATCHES ?? 20);
const rowsPerBatch = Number(process.env.BENCH_ROWS ?? 10_000);

async function startServer(): Promise<{ url: string; child: ChildProcess; dir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chdb-bench-'));
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, CHDB_SERVER_PORT: '0', CHDB_DATA_DIR: dir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /"port":(\d+)[^\n]*"msg":"chdb-server listening"/.exec(buffered);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`chdb-server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child, dir };
}

function batch(index: number) {
  const base = Date.UTC(2024, 0, 1);
  return Array.from({ length: rowsPerBatch }, (_, i) => {
    const n = index * rowsPerBatch + i;
    return {
      id: `01J${n.toString(36).padStart(12, '0')}`,
      tenant: `tenant-${n % 50}`,
      type: `type.${n % 20}`,
      source: 'bench',
      subject: `user-${n % 10_000}`,
      time: new Date(base + n).toISOString(),
      received_at: new Date(base + n + 5).toISOString(),
      data: JSON.stringify({ n, page: `/p/${n % 100}`, ok: n % 3 === 0, tags: ['a', 'b'] }),
      trace_id: n.toString(16).padStart(32, '0'),
      kafka_partition: n % 6,
      kafka_offset: String(n),
    };
  });
}

const started = process.env.BENCH_URL ? undefined : await startServer();
const url = process.env.BENCH_URL ?? started!.url;
const client = createClient({ url, request_timeout: 120_000 });
try {
  await client.command({ query: 'DROP TABLE IF EXISTS default.bench_events' });
  await client.command({
    query: `CREATE TABLE default.bench_events (
      id String, tenant LowCardinality(String), type LowCardinality(String), source String, subject String,
      time DateTime64(3, 'UTC'), received_at DateTime64(3, 'UTC'), inserted_at DateTime64(3, 'UTC') DEFAULT now64(3),
      data String, trace_id String, kafka_partition UInt32, kafka_offset UInt64
    ) ENGINE = MergeTree PARTITION BY toYYYYMM(time) ORDER BY (tenant, type, time, id)
    SETTINGS non_replicated_deduplication_window = 10000`,
  });
  const prepared = Array.from({ length: batches + 1 }, (_, i) => batch(i));
  // One warm-up batch, not counted.
  await client.insert({ table: 'default.bench_events', values: prepared[batches]!, format: 'JSONEachRow' });
  let serverNs = 0;
  const t0 = performance.now();
  for (let i = 0; i < batches; i++) {
    const result = await client.insert({
      table: 'default.bench_events',
      values: prepared[i]!,
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: `bench:${i}`, date_time_input_format: 'best_effort' },
    });
    serverNs += Number(result.summary?.elapsed_ns ?? 0);
  }
  const seconds = (performance.now() - t0) / 1000;
  const total = batches * rowsPerBatch;
  const counted = await (await client.query({ query: 'SELECT count() AS c FROM default.bench_events', format: 'JSONEachRow' })).json<{ c: number }>();
  logger.info(
    {
      batches,
      rows_per_batch: rowsPerBatch,
      rows_in_table: Number(counted[0]!.c),
      seconds: Math.round(seconds * 1000) / 1000,
      rows_per_s: Math.round(total / seconds),
      ms_per_batch: Math.round((seconds * 1000 * 10) / batches) / 10,
      engine_ms_per_batch: Math.round(serverNs / 1e5 / batches) / 10,
    },
    'insert throughput',
  );
} finally {
  await client.close();
  if (started) {
    started.child.kill('SIGTERM');
    await new Promise((resolve) => started.child.once('exit', resolve));
    rmSync(started.dir, { recursive: true, force: true });
  }
}
