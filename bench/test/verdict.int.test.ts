import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../src/report.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The bench's arithmetic against a target slower than the offered load: a stand-in gateway that
 * answers one request at a time, 100 ms each (10/s), while the bench offers 20/s for 2 s. The
 * answers take about 4 s, so the run must report about 10 ok/s, not the 20/s it offered, and a
 * p99 objective of 50 ms must fail it. No stack is needed (--no-proof --no-store): this is about
 * the numbers and the verdict, not the pipeline.
 */
describe('bench rates and objectives against an overloaded target', () => {
  let server: Server;
  let url: string;
  const outRoot = mkdtempSync(path.join(tmpdir(), 'floodgate-bench-verdict-'));
  let queue = Promise.resolve();
  let posts = 0;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        if (req.headers['content-type'] !== 'application/json') {
          res.writeHead(415, { 'content-type': 'application/json' }).end('{"error":{"code":"UNSUPPORTED_MEDIA_TYPE"}}');
          return;
        }
        posts++;
        // One at a time, 100 ms each: a target that answers 10 requests/s whatever is offered.
        queue = queue.then(
          () =>
            new Promise<void>((resolve) =>
              setTimeout(() => {
                res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":1}');
                resolve();
              }, 100),
            ),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(outRoot, { recursive: true, force: true });
  });

  function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'apps/cli/src/main.ts'), 'bench', ...args], {
        cwd: REPO_ROOT,
        env: { ...process.env, FLOODGATE_API_KEY: 'any-key-0001' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`bench did not finish; stderr: ${stderr}`));
      }, 60_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it('reports the rate over the time the answers took (about 10 ok/s, not the 20/s offered) and fails p99=50ms', async () => {
    const out = path.join(outRoot, 'slow');
    const before = posts;
    const result = await bench([
      'constant', '--rate', '20', '--duration', '2s', '--threads', '1', '--connections', '1',
      '--url', url, '--no-proof', '--no-store', '--quiet', '--json', '--out', out, '--slo', 'p99=50ms',
    ]);
    expect(result.code, result.stderr).toBe(1);
    expect(posts - before).toBe(40);
    const r = JSON.parse(result.stdout) as BenchReport;
    expect(r.totals.intended).toBe(40);
    expect(r.totals.ok).toBe(40);
    // 40 answers, one per 100 ms: at least 4 s from the first send to the last answer.
    expect(r.totals.achievedRate).toBeLessThanOrEqual(40 / 3.9);
    expect(r.totals.efficiency).toBeLessThan(0.52);
    expect(r.answerSeconds).toBeGreaterThanOrEqual(3.9);
    expect(r.totals.offeredRate).toBe(20);
    expect(r.totals.answeredRate).toBe(r.totals.achievedRate);
    expect(r.verdict?.ok).toBe(false);
    expect(r.verdict?.slo).toEqual([{ name: 'p99', objective: '≤ 50 ms', observed: expect.stringMatching(/ ms$/), ok: false }]);
    expect(r.verdict?.reasons[0]).toMatch(/^objective p99 ≤ 50 ms missed: \d/);
    expect(result.stderr).toContain('bench: run FAILED: objective p99 ≤ 50 ms missed');
    const html = readFileSync(r.files.html, 'utf8');
    expect(html).toContain('<span class="badge red">FAILED</span>');
    expect(html).toMatch(/<h2>Objectives<\/h2>.*<td>p99<\/td><td>≤ 50 ms<\/td>/s);
  });

  it('passes the same slow run against an objective it meets, exit 0 with the PASSED line first', async () => {
    const result = await bench([
      'constant', '--rate', '5', '--duration', '1s', '--threads', '1', '--connections', '1',
      '--url', url, '--no-proof', '--no-store', '--quiet', '--out', path.join(outRoot, 'ok'), '--slo', 'p99=20s,errors=1%',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const first = result.stdout.trim().split('\n')[0];
    expect(first).toMatch(/^verdict: PASSED \(objectives met: p99 [\d.]+ ms ≤ 20000 ms, errors 0 % ≤ 1 %\)$/);
  });
});
