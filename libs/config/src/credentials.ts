/**
 * The credentials `floodgate stack up` generates for the servers it runs itself (NATS and the
 * embedded ClickHouse endpoint), kept in `<FLOODGATE_HOME>/credentials.json` (mode 0600) so every
 * process and CLI command of that home finds them without the user doing anything. They are the
 * lowest-priority configuration source: environment > FLOODGATE_CONFIG file > this file.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { FloodgateError } from '@floodgate/errors';

/** This file is libs/config/src/credentials.ts. */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const STACK_CREDENTIALS_FILE = 'credentials.json';

/** FLOODGATE_HOME as the stack schema resolves it: the value given, else `.floodgate/` at the repository root. */
export function resolveStackHome(value: string | undefined): string {
  return value === undefined || value === '' ? path.join(REPO_ROOT, '.floodgate') : path.resolve(value);
}

export function stackCredentialsPath(home: string): string {
  return path.join(home, STACK_CREDENTIALS_FILE);
}

const credentialsSchema = z.object({
  NATS_USER: z.string().min(1),
  NATS_PASSWORD: z.string().min(16),
  CLICKHOUSE_USER: z.string().min(1),
  CLICKHOUSE_PASSWORD: z.string().min(16),
});

export type StackCredentials = z.infer<typeof credentialsSchema>;

/** The credentials of this home, or undefined when `stack up` has not generated any. */
export function readStackCredentials(home: string): StackCredentials | undefined {
  const file = stackCredentialsPath(home);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FloodgateError('CONFIG_FILE_UNREADABLE', `cannot read the stack credentials ${file}: ${(cause as Error).message}`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new FloodgateError('CONFIG_FILE_UNREADABLE', `the stack credentials ${file} are not JSON: ${(cause as Error).message}; delete it and run \`floodgate stack up\` to generate new ones`, { cause });
  }
  const result = credentialsSchema.safeParse(parsed);
  if (!result.success) {
    throw new FloodgateError('CONFIG_INVALID', `the stack credentials ${file} are malformed (${result.error.issues.map((i) => i.path.join('.')).join(', ')}); delete it and run \`floodgate stack up\` to generate new ones`);
  }
  return result.data;
}

function secret(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Returns this home's credentials, generating them first if there are none (mode 0600, created
 * exclusively so two concurrent callers cannot each write their own). Kept across restarts: a
 * second `stack up` finds and reuses them.
 */
export function ensureStackCredentials(home: string): { credentials: StackCredentials; created: boolean; file: string } {
  const file = stackCredentialsPath(home);
  const existing = readStackCredentials(home);
  if (existing) {
    // Tighten a file someone loosened; it holds secrets.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return { credentials: existing, created: false, file };
  }
  const credentials: StackCredentials = {
    NATS_USER: 'floodgate',
    NATS_PASSWORD: secret(),
    CLICKHOUSE_USER: 'floodgate',
    CLICKHOUSE_PASSWORD: secret(),
  };
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST' && existsSync(file)) {
      const raced = readStackCredentials(home);
      if (raced) return { credentials: raced, created: false, file };
    }
    throw new FloodgateError('CONFIG_FILE_UNREADABLE', `cannot create the stack credentials ${file}: ${(cause as Error).message}`, { cause });
  }
  try {
    writeSync(fd, `${JSON.stringify(credentials, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
  return { credentials, created: true, file };
}

const NATS_AUTH_KEYS = ['NATS_USER', 'NATS_PASSWORD', 'NATS_TOKEN', 'NATS_CREDS_FILE'] as const;
const CLICKHOUSE_AUTH_KEYS = ['CLICKHOUSE_USER', 'CLICKHOUSE_PASSWORD'] as const;

function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** True when every server of NATS_URL is on this machine and none carries credentials. */
function natsUrlIsLocalWithoutCredentials(natsUrl: string): boolean {
  return natsUrl
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .every((entry) => {
      const authority = entry.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/[/?#].*$/, '');
      if (authority.includes('@')) return false;
      const host = authority.startsWith('[') ? authority.slice(0, authority.indexOf(']') + 1) : authority.split(':')[0]!;
      return isLoopbackHost(host);
    });
}

function clickhouseUrlIsLocal(url: string): boolean {
  try {
    const parsed = new URL(url);
    return !parsed.username && !parsed.password && isLoopbackHost(parsed.hostname);
  } catch {
    return false;
  }
}

/**
 * Fills, in `raw`, the credentials the stack generated for this home, for the keys the schema has
 * and only where they can be meant: a group (NATS or ClickHouse) is filled only when none of its
 * settings was given and the server it would go to is on this machine (a server we may have
 * started). Anything given explicitly wins, and an external server never gets our secrets.
 */
export function applyStackCredentials(raw: Record<string, unknown>, keys: readonly string[], home: string): void {
  const wantsNats = keys.includes('NATS_USER') && keys.includes('NATS_PASSWORD');
  const wantsClickhouse = CLICKHOUSE_AUTH_KEYS.every((k) => keys.includes(k));
  if (!wantsNats && !wantsClickhouse) return;
  const natsFree = wantsNats && NATS_AUTH_KEYS.every((k) => raw[k] === undefined) && natsUrlIsLocalWithoutCredentials(String(raw.NATS_URL ?? 'nats://127.0.0.1:4222'));
  const clickhouseFree = wantsClickhouse && CLICKHOUSE_AUTH_KEYS.every((k) => raw[k] === undefined) && (raw.CLICKHOUSE_URL === undefined || clickhouseUrlIsLocal(String(raw.CLICKHOUSE_URL)));
  if (!natsFree && !clickhouseFree) return;
  const credentials = readStackCredentials(home);
  if (!credentials) return;
  if (natsFree) {
    raw.NATS_USER = credentials.NATS_USER;
    raw.NATS_PASSWORD = credentials.NATS_PASSWORD;
  }
  if (clickhouseFree) {
    raw.CLICKHOUSE_USER = credentials.CLICKHOUSE_USER;
    raw.CLICKHOUSE_PASSWORD = credentials.CLICKHOUSE_PASSWORD;
  }
}

/**
 * `config` with the stack's credentials filled in where loadConfig would have filled them had the
 * file existed when it ran (`stack up` generates the file after loading its configuration), for the
 * servers in `groups` (those we run). Groups that hold anything but the defaults are left alone.
 */
export function withStackCredentials<T extends {
  NATS_URL: string;
  NATS_USER?: string | undefined;
  NATS_PASSWORD?: string | undefined;
  NATS_TOKEN?: string | undefined;
  NATS_CREDS_FILE?: string | undefined;
  CLICKHOUSE_URL?: string | undefined;
  CLICKHOUSE_USER: string;
  CLICKHOUSE_PASSWORD: string;
}>(config: T, credentials: StackCredentials, groups: { nats: boolean; clickhouse: boolean } = { nats: true, clickhouse: true }): T {
  const out = { ...config };
  if (groups.nats && NATS_AUTH_KEYS.every((k) => config[k] === undefined) && natsUrlIsLocalWithoutCredentials(config.NATS_URL)) {
    out.NATS_USER = credentials.NATS_USER;
    out.NATS_PASSWORD = credentials.NATS_PASSWORD;
  }
  if (groups.clickhouse && config.CLICKHOUSE_USER === 'default' && config.CLICKHOUSE_PASSWORD === '' && (config.CLICKHOUSE_URL === undefined || clickhouseUrlIsLocal(config.CLICKHOUSE_URL))) {
    out.CLICKHOUSE_USER = credentials.CLICKHOUSE_USER;
    out.CLICKHOUSE_PASSWORD = credentials.CLICKHOUSE_PASSWORD;
  }
  return Object.freeze(out);
}
