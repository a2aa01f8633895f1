import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '@floodgate/clickhouse';
import { clickhouseUrl } from '@floodgate/config';
import { createKafka } from '@floodgate/kafka';
import { createLogger } from '@floodgate/logging';
import { stackConfigForTests, uniqueName } from '@floodgate/testkit';
import { pipelineRecordBytes, type Ceiling } from '../src/ceiling.ts';
import { latestCeiling } from '../src/store.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * `floodgate bench ceiling` on the shared stack, kept short (2 s of HTTP load, 20,000 Kafka
 * records): both ceilings measured, positive, stored in bench_ceilings, and the throw-away topic gone.
 */
describe('floodgate bench ceiling', () => {
  const stack = stackConfigForTests();
  const database = uniqueName('it_ceiling');
  const clickhouse = createClickHouse({ url: clickhouseUrl(stack), username: stack.CLICKHOUSE_USER, password: stack.CLICKHOUSE_PASSWORD, database: 'default' });

  afterAll(async () => {
    await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await clickhouse.close();
  });

  function cli(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'apps/cli/src/main.ts'), 'bench', ...args], {
        cwd: REPO_ROOT,
        env: { ...process.env, CLICKHOUSE_DATABASE: database },
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

  it('measures the bare-server and Kafka-producer ceilings, stores both (positive) and deletes its topic', async () => {
    const result = await cli(['ceiling', '--duration', '2s', '--records', '20000', '--connections', '8', '--json', '--quiet'], 150_000);
    expect(result.code, result.stderr).toBe(0);
    const measured = JSON.parse(result.stdout) as Ceiling[];
    expect(measured.map((c) => c.kind)).toEqual(['http', 'kafka']);
    const [http, kafka] = measured as [Ceiling, Ceiling];
    expect(http.batch).toBe(1);
    expect(http.rate).toBeGreaterThan(0);
    expect(http.eventsPerSecond).toBe(http.rate);
    expect(http.detail.failed).toBe(0);
    expect(kafka.rate).toBeGreaterThan(0);
    // The pipeline's record for the default 300-byte events, not the event itself.
    expect(kafka.recordSize).toBe(pipelineRecordBytes({ eventBytes: 300, mix: { product: 6, telemetry: 3, iot: 1 }, seed: 1 }));
    expect(kafka.detail).toMatchObject({ records: 20000, acks: 'all', idempotence: true });

    const storedHttp = await latestCeiling(clickhouse, database, 'http', http.host, 1);
    const storedKafka = await latestCeiling(clickhouse, database, 'kafka', kafka.host);
    expect(storedHttp).toMatchObject({ id: http.id, rate: http.rate, batch: 1 });
    expect(storedKafka).toMatchObject({ id: kafka.id, rate: kafka.rate, recordSize: kafka.recordSize });
    expect(storedHttp!.rate).toBeGreaterThan(0);
    expect(storedKafka!.rate).toBeGreaterThan(0);

    const admin = createKafka({ brokers: stack.KAFKA_BROKERS, clientId: 'ceiling-test', logger: createLogger('test', { level: 'warn' }) }).admin();
    await admin.connect();
    try {
      const runId = http.id.replace(/-http$/, '');
      expect((await admin.listTopics()).filter((t) => t.includes(runId))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });
});
