import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactlyOnce, freePort, SinkTestBed, startChdbServer, waitForRows, type AppProcess } from '@floodgate/testkit';

/**
 * A sink started while ClickHouse is down must wait for it (retrying with backoff, for up to its
 * start-up bound) and then consume. Its retry sleeps once let the event loop run dry: the process
 * exited with code 0 after its first failed attempt, so nothing restarted it as a failure.
 */
describe('sink: starting while ClickHouse is down', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'floodgate-startup-'));
  let port: number;
  let server: AppProcess | undefined;
  const bed = new SinkTestBed('startup', { clickhouseUrl: () => `http://127.0.0.1:${port}`, dropDatabase: false });

  beforeAll(async () => {
    port = await freePort();
    server = await startChdbServer(bed.names.label, port, dataDir);
    await bed.setUp();
  });

  afterAll(async () => {
    await bed.tearDown();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps retrying its start-up steps instead of exiting, and consumes once ClickHouse is back', async () => {
    server!.child.kill('SIGKILL');
    await server!.exited;
    const sink = bed.launchSink({ CLICKHOUSE_URL: `http://127.0.0.1:${port}` });
    // Three failed attempts (backoff 250 ms, 500 ms, 1 s...) and the process is still there.
    await sink.waitForLog((e) => e.msg === 'clickhouse migrations failed; retrying' && e.attempt === 2, 60_000, 'a third failed migration attempt');
    expect(sink.running).toBe(true);

    server = await startChdbServer(bed.names.label, port, dataDir);
    await sink.waitForLog((e) => e.msg === 'sink consuming', 60_000, '"sink consuming"');
    await bed.producer.send(200);
    const produced = bed.producer.ids;
    await waitForRows(bed.clickhouse, bed.names.database, produced.length, 60_000);
    expect(await exactlyOnce(bed.clickhouse, bed.names.database, produced)).toEqual({ rows: 200, distinct: 200, missing: 0, extra: 0 });
    expect(sink.running).toBe(true);
  });
});
