import { isLoopbackHost } from '@floodgate/config';
import { describe, expect, it } from 'vitest';
import {
  bindHost,
  formatHostPort,
  natsUrlHasCredentials,
  parseHostPort,
  parseHttpUrl,
  parseNatsServers,
  redactUrl,
} from '../src/stack/address.ts';

describe('parseHostPort', () => {
  it('reads host:port, [v6]:port and a bare host with a default port', () => {
    expect(parseHostPort('127.0.0.1:9092', 'KAFKA_BROKERS')).toEqual({ host: '127.0.0.1', port: 9092 });
    expect(parseHostPort(' localhost:19092 ', 'KAFKA_BROKERS')).toEqual({ host: 'localhost', port: 19092 });
    expect(parseHostPort('[::1]:9092', 'KAFKA_BROKERS')).toEqual({ host: '::1', port: 9092 });
    expect(parseHostPort('kafka-0', 'KAFKA_BROKERS', 9092)).toEqual({ host: 'kafka-0', port: 9092 });
    expect(parseHostPort('[::1]', 'X', 7)).toEqual({ host: '::1', port: 7 });
  });

  it('names the setting when the value is bad', () => {
    expect(() => parseHostPort('kafka-0', 'KAFKA_BROKERS')).toThrow('KAFKA_BROKERS: "kafka-0" has no port (expected host:port)');
    expect(() => parseHostPort('h:x', 'KAFKA_BROKERS')).toThrow('KAFKA_BROKERS: port "x" is not a number');
    expect(() => parseHostPort('h:70000', 'KAFKA_BROKERS')).toThrow('KAFKA_BROKERS: port 70000 is out of range 1-65535');
    expect(() => parseHostPort('::1:9092', 'KAFKA_BROKERS')).toThrow(/write an IPv6 address as \[addr\]:port/);
    expect(() => parseHostPort(':9092', 'KAFKA_BROKERS')).toThrow('KAFKA_BROKERS: ":9092" has no host');
    try {
      parseHostPort('h:x', 'KAFKA_BROKERS');
    } catch (error) {
      expect((error as { code: string }).code).toBe('CONFIG_INVALID');
    }
  });

  it('formats back, bracketing IPv6', () => {
    expect(formatHostPort({ host: '127.0.0.1', port: 1 })).toBe('127.0.0.1:1');
    expect(formatHostPort({ host: '::1', port: 9092 })).toBe('[::1]:9092');
  });
});

describe('isLoopbackHost and bindHost', () => {
  it('accepts only addresses that mean this machine', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '10.0.0.1', 'kafka', '127.0.0.1.example.com', '::']) expect(isLoopbackHost(host), host).toBe(false);
  });

  it('binds localhost as 127.0.0.1 and IP literals as given', () => {
    expect(bindHost('localhost')).toBe('127.0.0.1');
    expect(bindHost('127.0.0.2')).toBe('127.0.0.2');
    expect(bindHost('::1')).toBe('::1');
  });
});

describe('parseNatsServers', () => {
  it('reads nats:// URLs, bare host:port, default port 4222, lists, and drops credentials', () => {
    expect(parseNatsServers('nats://127.0.0.1:4222')).toEqual([{ host: '127.0.0.1', port: 4222 }]);
    expect(parseNatsServers('nats://localhost')).toEqual([{ host: 'localhost', port: 4222 }]);
    expect(parseNatsServers('127.0.0.1:14222')).toEqual([{ host: '127.0.0.1', port: 14222 }]);
    expect(parseNatsServers('nats://user:pw@n1:4222, nats://n2:4223')).toEqual([
      { host: 'n1', port: 4222 },
      { host: 'n2', port: 4223 },
    ]);
    expect(parseNatsServers('tls://[::1]:4443/')).toEqual([{ host: '::1', port: 4443 }]);
  });

  it('refuses schemes NATS does not speak', () => {
    expect(() => parseNatsServers('http://127.0.0.1:4222')).toThrow('NATS_URL: unsupported scheme "http://" in "http://127.0.0.1:4222"');
  });

  it('notices credentials', () => {
    expect(natsUrlHasCredentials('nats://token@127.0.0.1:4222')).toBe(true);
    expect(natsUrlHasCredentials('nats://127.0.0.1:4222')).toBe(false);
  });
});

describe('parseHttpUrl and redactUrl', () => {
  it('reads host and port with the scheme default', () => {
    expect(parseHttpUrl('http://127.0.0.1:8123', 'CLICKHOUSE_URL')).toEqual({ host: '127.0.0.1', port: 8123, protocol: 'http:' });
    expect(parseHttpUrl('https://ch.example.com', 'CLICKHOUSE_URL')).toEqual({ host: 'ch.example.com', port: 443, protocol: 'https:' });
    expect(parseHttpUrl('http://[::1]:8123/', 'CLICKHOUSE_URL')).toEqual({ host: '::1', port: 8123, protocol: 'http:' });
    expect(() => parseHttpUrl('ftp://x', 'CLICKHOUSE_URL')).toThrow('CLICKHOUSE_URL: "ftp://x" must be http:// or https://');
  });

  it('never prints credentials', () => {
    expect(redactUrl('http://user:secret@ch:8123/')).toBe('http://ch:8123/');
    expect(redactUrl('http://127.0.0.1:8123')).toBe('http://127.0.0.1:8123');
  });
});
