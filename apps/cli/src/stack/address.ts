import { FloodgateError } from '@floodgate/errors';

/** A TCP endpoint. `host` is bare (no IPv6 brackets). */
export interface HostPort {
  host: string;
  port: number;
}

function parsePort(text: string, what: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new FloodgateError('CONFIG_INVALID', `${what}: port "${text}" is not a number`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new FloodgateError('CONFIG_INVALID', `${what}: port ${port} is out of range 1-65535`);
  return port;
}

/**
 * `host:port`, `[v6]:port`, or a bare host when `defaultPort` is given. `what` names the setting in
 * errors, e.g. "KAFKA_BROKERS".
 */
export function parseHostPort(text: string, what: string, defaultPort?: number): HostPort {
  const value = text.trim();
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(value);
  let host: string;
  let portText: string | undefined;
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else {
    const colons = value.split(':').length - 1;
    if (colons === 1) {
      const at = value.indexOf(':');
      host = value.slice(0, at);
      portText = value.slice(at + 1);
    } else if (colons === 0) {
      host = value;
    } else {
      throw new FloodgateError('CONFIG_INVALID', `${what}: "${text}" is ambiguous; write an IPv6 address as [addr]:port`);
    }
  }
  if (!host) throw new FloodgateError('CONFIG_INVALID', `${what}: "${text}" has no host`);
  if (portText === undefined || portText === '') {
    if (defaultPort === undefined) throw new FloodgateError('CONFIG_INVALID', `${what}: "${text}" has no port (expected host:port)`);
    return { host, port: defaultPort };
  }
  return { host, port: parsePort(portText, what) };
}

/** `host:port`, bracketing IPv6 hosts. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The address a server we start binds to: an IP literal as given, `localhost` as 127.0.0.1. */
export function bindHost(host: string): string {
  return host.toLowerCase() === 'localhost' ? '127.0.0.1' : host;
}

/** NATS_URL: `nats://host:port`, `host:port` or `host` (port 4222); a comma-separated list is allowed. */
export function parseNatsServers(natsUrl: string): HostPort[] {
  const entries = natsUrl.split(',').map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) throw new FloodgateError('CONFIG_INVALID', 'NATS_URL: no server given');
  return entries.map((entry) => {
    const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(entry);
    if (!m) return parseHostPort(entry, 'NATS_URL', 4222);
    const scheme = m[1]!.toLowerCase();
    if (!['nats', 'tls', 'ws', 'wss'].includes(scheme)) {
      throw new FloodgateError('CONFIG_INVALID', `NATS_URL: unsupported scheme "${scheme}://" in "${entry}"`);
    }
    // Drop credentials and anything after the authority.
    const authority = m[2]!.replace(/[/?#].*$/, '').replace(/^.*@/, '');
    return parseHostPort(authority, 'NATS_URL', scheme === 'nats' || scheme === 'tls' ? 4222 : 80);
  });
}

/** True when NATS_URL carries a user or token, which a server we start would not know about. */
export function natsUrlHasCredentials(natsUrl: string): boolean {
  return natsUrl.split(',').some((entry) => /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(entry.trim()));
}

/** The host and port of an http(s) URL, with the scheme's default port. */
export function parseHttpUrl(url: string, what: string): HostPort & { protocol: 'http:' | 'https:' } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new FloodgateError('CONFIG_INVALID', `${what}: "${url}" is not a URL`, { cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new FloodgateError('CONFIG_INVALID', `${what}: "${url}" must be http:// or https://`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
  return { host, port, protocol: parsed.protocol };
}

/** A URL without its user info, fit for printing. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}
