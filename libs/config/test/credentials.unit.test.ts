import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureStackCredentials, loadConfig, natsAuth, splitNatsUrl, stackSchema } from '../src/index.ts';

const home = mkdtempSync(path.join(os.tmpdir(), 'fg-config-creds-'));
const { credentials } = ensureStackCredentials(home);

afterAll(() => rmSync(home, { recursive: true, force: true }));

function load(env: NodeJS.ProcessEnv) {
  return loadConfig(stackSchema, { env: { FLOODGATE_HOME: home, ...env } });
}

describe('stack credentials as the lowest-priority configuration source', () => {
  it('generates them once (0600) and returns the same ones after', () => {
    expect(statSync(path.join(home, 'credentials.json')).mode & 0o777).toBe(0o600);
    expect(ensureStackCredentials(home)).toEqual({ credentials, created: false, file: path.join(home, 'credentials.json') });
  });

  it('fills NATS and ClickHouse credentials when nothing is set and the servers are local', () => {
    const config = load({});
    expect([config.NATS_USER, config.NATS_PASSWORD, config.CLICKHOUSE_USER, config.CLICKHOUSE_PASSWORD]).toEqual([
      credentials.NATS_USER,
      credentials.NATS_PASSWORD,
      credentials.CLICKHOUSE_USER,
      credentials.CLICKHOUSE_PASSWORD,
    ]);
    expect(load({ CLICKHOUSE_URL: 'http://localhost:18123' }).CLICKHOUSE_PASSWORD).toBe(credentials.CLICKHOUSE_PASSWORD);
  });

  it('lets the environment and the FLOODGATE_CONFIG file win, per group', () => {
    expect(load({ CLICKHOUSE_PASSWORD: 'env' })).toMatchObject({ CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: 'env', NATS_USER: credentials.NATS_USER });
    const token = load({ NATS_TOKEN: 'tok' });
    expect([token.NATS_USER, token.NATS_PASSWORD, token.NATS_TOKEN, token.CLICKHOUSE_USER]).toEqual([undefined, undefined, 'tok', credentials.CLICKHOUSE_USER]);
    const file = path.join(home, 'config.json');
    writeFileSync(file, JSON.stringify({ CLICKHOUSE_USER: 'from-file', CLICKHOUSE_PASSWORD: 'f' }));
    expect(load({ FLOODGATE_CONFIG: file })).toMatchObject({ CLICKHOUSE_USER: 'from-file', CLICKHOUSE_PASSWORD: 'f' });
    expect(load({ FLOODGATE_CONFIG: file, CLICKHOUSE_USER: 'env' })).toMatchObject({ CLICKHOUSE_USER: 'env', CLICKHOUSE_PASSWORD: 'f' });
  });

  it('never hands them to a server elsewhere or to a NATS_URL carrying its own credentials', () => {
    expect(load({ CLICKHOUSE_URL: 'https://clickhouse.example:8443' })).toMatchObject({ CLICKHOUSE_USER: 'default', CLICKHOUSE_PASSWORD: '' });
    for (const url of ['nats://nats.example:4222', 'nats://u:p@127.0.0.1:4222']) {
      const config = load({ NATS_URL: url });
      expect([config.NATS_USER, config.NATS_PASSWORD]).toEqual([undefined, undefined]);
    }
  });

  it('reads nothing from a home without credentials.json', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'fg-config-nocreds-'));
    try {
      const config = loadConfig(stackSchema, { env: { FLOODGATE_HOME: empty } });
      expect([config.NATS_USER, config.NATS_PASSWORD, config.CLICKHOUSE_USER, config.CLICKHOUSE_PASSWORD]).toEqual([undefined, undefined, 'default', '']);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('natsAuth: one way to authenticate', () => {
  const base = { NATS_URL: 'nats://127.0.0.1:4222', NATS_USER: undefined, NATS_PASSWORD: undefined, NATS_TOKEN: undefined, NATS_CREDS_FILE: undefined };

  it('reads user/password, token or creds file, and credentials inside NATS_URL (percent-decoded)', () => {
    expect(natsAuth(base)).toEqual({ kind: 'none' });
    expect(natsAuth({ ...base, NATS_USER: 'u', NATS_PASSWORD: 'p' })).toEqual({ kind: 'user', user: 'u', password: 'p', source: 'NATS_USER/NATS_PASSWORD' });
    expect(natsAuth({ ...base, NATS_TOKEN: 't' })).toEqual({ kind: 'token', token: 't', source: 'NATS_TOKEN' });
    expect(natsAuth({ ...base, NATS_CREDS_FILE: '/x/user.creds' })).toEqual({ kind: 'creds', file: '/x/user.creds' });
    expect(natsAuth({ ...base, NATS_URL: 'nats://us%40r:p%3Ass@127.0.0.1:4222' })).toEqual({ kind: 'user', user: 'us@r', password: 'p:ss', source: 'NATS_URL' });
    expect(natsAuth({ ...base, NATS_URL: 'nats://s3cret@127.0.0.1:4222' })).toEqual({ kind: 'token', token: 's3cret', source: 'NATS_URL' });
    expect(splitNatsUrl('nats://u:p@a:4222, nats://u:p@b:4222').servers).toEqual(['nats://a:4222', 'nats://b:4222']);
  });

  it('refuses a half pair and two ways at once, naming the variables', () => {
    expect(() => natsAuth({ ...base, NATS_USER: 'u' })).toThrow('NATS_USER and NATS_PASSWORD go together: NATS_PASSWORD is unset');
    expect(() => natsAuth({ ...base, NATS_TOKEN: 't', NATS_CREDS_FILE: 'f' })).toThrow('NATS credentials are given more than one way (NATS_TOKEN, NATS_CREDS_FILE); set only one');
    expect(() => natsAuth({ ...base, NATS_URL: 'nats://u:p@h:4222', NATS_USER: 'u', NATS_PASSWORD: 'p' })).toThrow(/more than one way \(NATS_USER\/NATS_PASSWORD, NATS_URL\)/);
    expect(() => splitNatsUrl('nats://a:1@h1:4222,nats://b:2@h2:4222')).toThrow('NATS_URL: its servers carry different credentials');
  });
});
