import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { loadConfig, readStackCredentials, stackSchema, type StackConfig } from '@floodgate/config';
import { freePort, stackConfigForTests, waitFor } from '@floodgate/testkit';
import { stackDown, stackUp } from '../src/stack/index.ts';

const execFileAsync = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = path.join(REPO_ROOT, 'apps/cli/bin/floodgate.js');

/**
 * The credentials `stack up` generates, on a home of its own: its own NATS and embedded ClickHouse
 * on free ports (Kafka is the shared broker, used as external, so nothing slow starts). The shared
 * stack is never touched.
 */
const shared = stackConfigForTests();
const home = mkdtempSync(path.join(os.tmpdir(), 'floodgate-creds-it-'));
const strangerHome = mkdtempSync(path.join(os.tmpdir(), 'floodgate-creds-it-stranger-'));
let env: NodeJS.ProcessEnv = {};
let config: StackConfig;
let natsUrl = '';
let chUrl = '';

async function cli(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { env: { ...env, ...extra }, cwd: REPO_ROOT, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

async function chQuery(headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const response = await fetch(`${chUrl}/`, { method: 'POST', body: 'SELECT 1', headers });
  return { status: response.status, body: await response.text() };
}

beforeAll(async () => {
  const natsPort = await freePort();
  const chPort = await freePort();
  natsUrl = `nats://127.0.0.1:${natsPort}`;
  chUrl = `http://127.0.0.1:${chPort}`;
  env = {
    ...process.env,
    FLOODGATE_HOME: home,
    FLOODGATE_CONFIG: '',
    KAFKA_BROKERS: shared.KAFKA_BROKERS.join(','),
    NATS_URL: natsUrl,
    NATS_USER: '',
    NATS_PASSWORD: '',
    CLICKHOUSE_URL: '',
    CLICKHOUSE_USER: '',
    CLICKHOUSE_PASSWORD: '',
    CLICKHOUSE_EMBEDDED_PORT: String(chPort),
    STACK_START_TIMEOUT_MS: '90000',
    LOG_LEVEL: 'error',
  };
  config = loadConfig(stackSchema, { env });
});

afterAll(async () => {
  await stackDown(config).catch(() => {});
  rmSync(home, { recursive: true, force: true });
  rmSync(strangerHome, { recursive: true, force: true });
});

describe('stack-generated credentials', () => {
  it('`stack up` generates credentials.json (0600) once and starts NATS and ClickHouse demanding them', async () => {
    const up = await cli(['stack', 'up', '--json']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain(`generated credentials for NATS and ClickHouse in ${path.join(home, 'credentials.json')} (mode 0600)`);
    expect(JSON.parse(up.stdout).actions).toEqual({ kafka: 'external', nats: 'started', clickhouse: 'started' });
    expect(statSync(path.join(home, 'credentials.json')).mode & 0o777).toBe(0o600);
    const credentials = readStackCredentials(home)!;
    expect(credentials.NATS_PASSWORD.length).toBeGreaterThanOrEqual(32);
    expect(credentials.CLICKHOUSE_PASSWORD).not.toBe(credentials.NATS_PASSWORD);
    // The NATS password is in a 0600 config file, never on the command line.
    expect(statSync(path.join(home, 'config', 'nats', 'auth.conf')).mode & 0o777).toBe(0o600);
    const natsPid = readFileSync(path.join(home, 'run', 'nats.pid'), 'utf8').trim();
    expect(readFileSync(`/proc/${natsPid}/cmdline`, 'utf8')).not.toContain(credentials.NATS_PASSWORD);

    // Every process of the home picks them up: loadConfig fills them in.
    const loaded = loadConfig(stackSchema, { env });
    expect([loaded.NATS_USER, loaded.NATS_PASSWORD, loaded.CLICKHOUSE_USER, loaded.CLICKHOUSE_PASSWORD]).toEqual([
      credentials.NATS_USER,
      credentials.NATS_PASSWORD,
      credentials.CLICKHOUSE_USER,
      credentials.CLICKHOUSE_PASSWORD,
    ]);
    // Explicit settings win over the file.
    const explicit = loadConfig(stackSchema, { env: { ...env, CLICKHOUSE_USER: 'other', CLICKHOUSE_PASSWORD: 'x', NATS_TOKEN: 't' } });
    expect([explicit.CLICKHOUSE_USER, explicit.CLICKHOUSE_PASSWORD, explicit.NATS_USER, explicit.NATS_TOKEN]).toEqual(['other', 'x', undefined, 't']);
  });

  it('NATS refuses a connection without credentials or with a wrong password', async () => {
    const credentials = readStackCredentials(home)!;
    const anonymous = await connect({ servers: natsUrl, reconnect: false, timeout: 5000 }).then(
      (nc) => nc.close().then(() => 'connected'),
      (e: unknown) => (e as Error).message,
    );
    expect(anonymous).toMatch(/Authorization Violation/i);
    const wrong = await connect({ servers: natsUrl, reconnect: false, timeout: 5000, user: credentials.NATS_USER, pass: 'wrong' }).then(
      (nc) => nc.close().then(() => 'connected'),
      (e: unknown) => (e as Error).message,
    );
    expect(wrong).toMatch(/Authorization Violation/i);
  });

  it('the sink control commands fail with NATS_AUTH_FAILED naming what to set, without credentials and with wrong ones', async () => {
    // In parallel: each CLI start costs seconds on a loaded machine.
    const [none, wrong, inUrl] = await Promise.all([
      // A home with no credentials.json: nothing to pick up.
      cli(['sink', 'flush'], { FLOODGATE_HOME: strangerHome }),
      cli(['status'], { NATS_USER: 'floodgate', NATS_PASSWORD: 'wrong' }),
      cli(['sink', 'pause'], { FLOODGATE_HOME: strangerHome, NATS_URL: natsUrl.replace('nats://', 'nats://floodgate:wrong@') }),
    ]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`floodgate: error NATS_AUTH_FAILED: NATS at ${natsUrl} refused no credentials: Authorization Violation; set NATS_USER and NATS_PASSWORD, NATS_TOKEN, NATS_CREDS_FILE or credentials in NATS_URL`);

    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`NATS_AUTH_FAILED: NATS at ${natsUrl} refused user "floodgate" (NATS_USER/NATS_PASSWORD): Authorization Violation`);

    expect(inUrl.code).toBe(1);
    expect(inUrl.stderr).toContain('NATS_AUTH_FAILED: NATS at nats://127.0.0.1');
    expect(inUrl.stderr).toContain('refused user "floodgate" (NATS_URL)');
    expect(inUrl.stderr).not.toContain('wrong@');
  });

  it('`floodgate status` connects with the home alone (no variables), and with the credentials in NATS_URL', async () => {
    const credentials = readStackCredentials(home)!;
    const [status, viaUrl] = await Promise.all([
      cli(['status']),
      cli(['status'], {
        FLOODGATE_HOME: strangerHome,
        NATS_URL: natsUrl.replace('nats://', `nats://${credentials.NATS_USER}:${credentials.NATS_PASSWORD}@`),
        CLICKHOUSE_URL: chUrl,
        CLICKHOUSE_USER: credentials.CLICKHOUSE_USER,
        CLICKHOUSE_PASSWORD: credentials.CLICKHOUSE_PASSWORD,
      }),
    ]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('no live sink processes');
    expect(viaUrl.code, viaUrl.stderr).toBe(0);
    expect(viaUrl.stdout).toContain('no live sink processes');
  });

  it('the embedded ClickHouse refuses no credentials (401), wrong ones (403) and a cross-site Origin (403), and answers its own', async () => {
    const credentials = readStackCredentials(home)!;
    expect(await chQuery({})).toMatchObject({ status: 401, body: expect.stringMatching(/^Code: 194\..*\(REQUIRED_PASSWORD\)/) });
    expect(await chQuery({ Authorization: basic(credentials.CLICKHOUSE_USER, 'wrong') })).toMatchObject({ status: 403, body: expect.stringMatching(/^Code: 516\..*\(AUTHENTICATION_FAILED\)/) });
    expect(await chQuery({ Authorization: basic(credentials.CLICKHOUSE_USER, credentials.CLICKHOUSE_PASSWORD), Origin: 'http://evil.example' })).toMatchObject({
      status: 403,
      body: expect.stringMatching(/^Code: 497\..*\(ACCESS_DENIED\)/),
    });
    expect(await chQuery({ Authorization: basic(credentials.CLICKHOUSE_USER, credentials.CLICKHOUSE_PASSWORD) })).toEqual({ status: 200, body: '1\n' });
  });

  it('`stack up` again keeps the same credentials and servers', async () => {
    const before = readFileSync(path.join(home, 'credentials.json'), 'utf8');
    const result = await stackUp(config);
    expect(result.actions).toEqual({ kafka: 'external', nats: 'running', clickhouse: 'running' });
    expect(result.servers.every((s) => s.healthy)).toBe(true);
    expect(readFileSync(path.join(home, 'credentials.json'), 'utf8')).toBe(before);
  });

  it('upgrades a home whose servers were started before it had credentials: `stack up` restarts them with authorization', async () => {
    const credentials = readStackCredentials(home)!;
    await stackDown(config);
    // Start NATS and the endpoint the way `stack up` did before credentials existed (same
    // command lines, so they are recognised as ours, but no authorization and no password).
    const natsPort = new URL(natsUrl).port;
    const storeDir = path.join(home, 'data', 'nats');
    const logs = path.join(home, 'logs');
    const natsServer = spawn('nats-server', ['-a', '127.0.0.1', '-p', natsPort, '-js', '-sd', storeDir], { cwd: storeDir, detached: true, stdio: 'ignore' });
    const chdb = spawn(process.execPath, [`--diagnostic-dir=${logs}`, '--import', 'tsx', 'apps/chdb-server/src/main.ts'], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, CHDB_SERVER_HOST: '127.0.0.1', CHDB_SERVER_PORT: new URL(chUrl).port, CHDB_DATA_DIR: path.join(home, 'data', 'clickhouse'), CHDB_SERVER_PASSWORD: '' },
    });
    natsServer.unref();
    chdb.unref();
    mkdirSync(path.join(home, 'run'), { recursive: true });
    writeFileSync(path.join(home, 'run', 'nats.pid'), `${natsServer.pid}\n`);
    writeFileSync(path.join(home, 'run', 'clickhouse.pid'), `${chdb.pid}\n`);
    await waitFor(async () => (await fetch(`${chUrl}/?query=SELECT%201`).then((r) => r.status, () => 0)) === 200, { timeoutMs: 60_000, intervalMs: 250, description: 'the passwordless endpoint answers' });

    const say: string[] = [];
    const result = await stackUp(config, { say: (line) => say.push(line) });
    expect(say.join('\n')).toContain(`nats: restarting pid ${natsServer.pid}: it runs without authorization (started before credentials were generated)`);
    expect(say.join('\n')).toContain(`clickhouse: restarting pid ${chdb.pid}: it answers queries without credentials (started before credentials were generated)`);
    expect(result.actions).toEqual({ kafka: 'external', nats: 'started', clickhouse: 'started' });
    expect(result.servers.every((s) => s.healthy)).toBe(true);
    expect(readStackCredentials(home)).toEqual(credentials);
    expect((await chQuery({})).status).toBe(401);
    const anonymous = await connect({ servers: natsUrl, reconnect: false, timeout: 5000 }).then(
      (nc) => nc.close().then(() => 'connected'),
      (e: unknown) => (e as Error).message,
    );
    expect(anonymous).toMatch(/Authorization Violation/i);
  });
});
