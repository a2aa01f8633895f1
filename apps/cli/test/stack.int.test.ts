import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, readStackCredentials, stackSchema, type StackConfig } from '@floodgate/config';
import { stackConfigForTests } from '@floodgate/testkit';
import { stackDown, stackStatus, stackUp } from '../src/stack/index.ts';

const execFileAsync = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = path.join(REPO_ROOT, 'apps/cli/bin/floodgate.js');

/**
 * The stack commands on their own FLOODGATE_HOME and ports, so the shared stack (default ports)
 * that other integration tests use is never touched.
 */
const home = mkdtempSync(path.join(os.tmpdir(), 'floodgate-stack-it-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  FLOODGATE_HOME: home,
  KAFKA_BROKERS: '127.0.0.1:19092',
  KAFKA_CONTROLLER_PORT: '19093',
  NATS_URL: 'nats://127.0.0.1:14222',
  CLICKHOUSE_EMBEDDED_PORT: '18123',
  CLICKHOUSE_URL: '',
  FLOODGATE_CONFIG: '',
  STACK_START_TIMEOUT_MS: '90000',
};
const config: StackConfig = loadConfig(stackSchema, { env });

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { env, cwd: REPO_ROOT, timeout: 150_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Live processes whose command line or environment mentions this test's FLOODGATE_HOME. */
function processesOfHome(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const pid = Number(entry);
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if ((cmdline.includes(home) || environ.includes(home)) && alive(pid)) found.push(`${pid} ${cmdline.replaceAll('\0', ' ')}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe('floodgate stack up | status | down', () => {
  let pids: Record<string, number> = {};

  beforeAll(() => {
    // Reuse the Kafka jars the shared stack already fetched (a fetch is ~10 s of mvn).
    const shared = path.join(stackConfigForTests().FLOODGATE_HOME, 'cache', 'kafka-4.1.1');
    if (existsSync(path.join(shared, 'libs', '.complete.json'))) {
      mkdirSync(path.join(home, 'cache'), { recursive: true });
      symlinkSync(shared, path.join(home, 'cache', 'kafka-4.1.1'));
    }
    // A live pid that is not ours in a pid file, as after a reboot recycled it: must be ignored
    // (and never signalled).
    mkdirSync(path.join(home, 'run'), { recursive: true });
    writeFileSync(path.join(home, 'run', 'nats.pid'), `${process.pid}\n`);
  });

  afterAll(async () => {
    await stackDown(config).catch(() => {});
    rmSync(home, { recursive: true, force: true });
  });

  it('`stack up` through the CLI starts all three and waits until each answers', async () => {
    const { code, stdout, stderr } = await cli('stack', 'up');
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('nats: removed a stale pid file');
    const rows = stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row, stdout).toMatch(/^(kafka|nats|clickhouse)\s+\S+\s+\d+\s+up\b/);
    expect(stdout).toContain('127.0.0.1:19092');
    expect(stdout).toContain('127.0.0.1:14222');
    expect(stdout).toContain('http://127.0.0.1:18123');

    const status = await stackStatus(config);
    for (const server of status.servers) {
      expect(server, JSON.stringify(server)).toMatchObject({ healthy: true, external: false });
      expect(server.pid).not.toBe(process.pid);
      expect(alive(server.pid!)).toBe(true);
      expect(readFileSync(path.join(home, 'run', `${server.name}.pid`), 'utf8').trim()).toBe(String(server.pid));
    }
    pids = Object.fromEntries(status.servers.map((s) => [s.name, s.pid!]));
    // Logs are where the pid files say, and readable text.
    expect(readFileSync(path.join(home, 'logs', 'kafka.log'), 'utf8')).toMatch(/INFO .*Kafka Server started|KafkaRaftServer/);
    expect(readFileSync(path.join(home, 'logs', 'nats.log'), 'utf8')).toContain('Server is ready');
  });

  it('`stack up` again is harmless: same pids, all healthy', async () => {
    const result = await stackUp(config);
    expect(result.actions).toEqual({ kafka: 'running', nats: 'running', clickhouse: 'running' });
    expect(Object.fromEntries(result.servers.map((s) => [s.name, s.pid]))).toEqual(pids);
    expect(result.servers.every((s) => s.healthy)).toBe(true);

    const again = await cli('stack', 'up', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).actions).toEqual({ kafka: 'running', nats: 'running', clickhouse: 'running' });
  });

  it('`stack status --json` reports each server up with our pid', async () => {
    const { code, stdout, stderr } = await cli('stack', 'status', '--json');
    expect(code, stderr).toBe(0);
    const status = JSON.parse(stdout) as { home: string; servers: { name: string; pid: number; healthy: boolean; external: boolean; log: string }[] };
    expect(status.home).toBe(home);
    expect(status.servers.map((s) => [s.name, s.pid, s.healthy, s.external])).toEqual([
      ['kafka', pids.kafka, true, false],
      ['nats', pids.nats, true, false],
      ['clickhouse', pids.clickhouse, true, false],
    ]);
    expect(status.servers[0]!.log).toBe(path.join(home, 'logs', 'kafka.log'));
  });

  it('uses a server already answering on a port instead of starting a second one, and refuses a port held by something else', async () => {
    // A second home whose Kafka address is this test's broker and whose NATS port is held by a
    // plain TCP server that is not NATS.
    const other = mkdtempSync(path.join(os.tmpdir(), 'floodgate-stack-it-other-'));
    const squatter = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const squatterPort = (squatter.address() as net.AddressInfo).port;
    try {
      const otherConfig = loadConfig(stackSchema, {
        env: {
          ...env,
          FLOODGATE_HOME: other,
          NATS_URL: `nats://127.0.0.1:${squatterPort}`,
          CLICKHOUSE_URL: 'http://127.0.0.1:18123',
          // That endpoint is the first home's: it answers only that home's credentials.
          CLICKHOUSE_USER: readStackCredentials(home)!.CLICKHOUSE_USER,
          CLICKHOUSE_PASSWORD: readStackCredentials(home)!.CLICKHOUSE_PASSWORD,
        },
      });
      const say: string[] = [];
      await expect(stackUp(otherConfig, { say: (l) => say.push(l) })).rejects.toMatchObject({
        code: 'STACK_START_FAILED',
        message: expect.stringMatching(new RegExp(`^nats: 127\\.0\\.0\\.1:${squatterPort} \\(NATS client port \\(NATS_URL\\)\\) is already in use by pid ${process.pid} .*which does not answer as nats`)),
      });
      expect(say.join('\n')).toContain('kafka: a server not started by floodgate already answers on 127.0.0.1:19092');
      const status = await stackStatus(otherConfig);
      expect(status.servers.map((s) => [s.name, s.pid, s.external, s.healthy])).toEqual([
        ['kafka', null, true, true],
        ['nats', null, false, false],
        ['clickhouse', null, true, true],
      ]);
      // Its `down` leaves the servers it did not start alone.
      const down = await stackDown(otherConfig);
      expect(down.servers.map((s) => s.action)).toEqual(['external', 'external', 'external']);
      expect(Object.values(pids).every(alive)).toBe(true);
    } finally {
      squatter.close();
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('`stack down` through the CLI stops exactly those processes and leaves nothing behind', async () => {
    const { code, stdout, stderr } = await cli('stack', 'down');
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/kafka\s+\d+\s+stopped/);
    expect(stdout).toMatch(/nats\s+\d+\s+stopped/);
    expect(stdout).toMatch(/clickhouse\s+\d+\s+stopped/);
    for (const [name, pid] of Object.entries(pids)) {
      expect(alive(pid), `${name} pid ${pid}`).toBe(false);
      expect(existsSync(path.join(home, 'run', `${name}.pid`))).toBe(false);
    }
    expect(processesOfHome()).toEqual([]);
    expect(alive(process.pid)).toBe(true); // the unrelated pid once planted in nats.pid

    const status = await stackStatus(config);
    expect(status.servers.map((s) => [s.name, s.pid, s.healthy, s.external])).toEqual([
      ['kafka', null, false, false],
      ['nats', null, false, false],
      ['clickhouse', null, false, false],
    ]);
    // A pid file naming a live process that is not ours: down must not signal it.
    writeFileSync(path.join(home, 'run', 'kafka.pid'), `${process.pid}\n`);
    const again = await stackDown(config);
    expect(again.servers.map((s) => s.action)).toEqual(['not running', 'not running', 'not running']);
    expect(alive(process.pid)).toBe(true);
    expect(existsSync(path.join(home, 'run', 'kafka.pid'))).toBe(false);
  });
});
