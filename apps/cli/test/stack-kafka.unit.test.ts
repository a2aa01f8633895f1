import { describe, expect, it } from 'vitest';
import { parseJavaMajor, renderLog4j2Yaml, renderServerProperties } from '../src/stack/kafka.ts';

function parseProperties(text: string): Record<string, string> {
  const entries = text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)] as const;
    });
  return Object.fromEntries(entries);
}

describe('renderServerProperties', () => {
  it('renders the single-node KRaft broker+controller verified on this machine', () => {
    const text = renderServerProperties({
      broker: { host: '127.0.0.1', port: 9092 },
      bindHost: '127.0.0.1',
      controllerPort: 9093,
      logDir: '/home/x/.floodgate/data/kafka',
      partitions: 6,
    });
    expect(parseProperties(text)).toEqual({
      'process.roles': 'broker,controller',
      'node.id': '1',
      'controller.quorum.voters': '1@127.0.0.1:9093',
      listeners: 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093',
      'advertised.listeners': 'PLAINTEXT://127.0.0.1:9092',
      'controller.listener.names': 'CONTROLLER',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name': 'PLAINTEXT',
      'log.dirs': '/home/x/.floodgate/data/kafka',
      'num.partitions': '6',
      'offsets.topic.replication.factor': '1',
      'offsets.topic.num.partitions': '6',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'group.initial.rebalance.delay.ms': '0',
      'log.cleaner.dedupe.buffer.size': '16777216',
      'auto.create.topics.enable': 'false',
    });
  });

  it('uses the configured ports, advertises the host clients use, and never sets --standalone style dynamic quorum keys', () => {
    const props = parseProperties(
      renderServerProperties({
        broker: { host: 'localhost', port: 19092 },
        bindHost: '127.0.0.1',
        controllerPort: 19093,
        logDir: '/tmp/h/data/kafka',
        partitions: 3,
      }),
    );
    expect(props.listeners).toBe('PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
    expect(props['advertised.listeners']).toBe('PLAINTEXT://localhost:19092');
    expect(props['controller.quorum.voters']).toBe('1@127.0.0.1:19093');
    expect(props['num.partitions']).toBe('3');
    expect(props).not.toHaveProperty('controller.quorum.bootstrap.servers');
  });

  it('escapes backslashes and refuses line breaks in values', () => {
    const base = { broker: { host: '127.0.0.1', port: 9092 }, bindHost: '127.0.0.1', controllerPort: 9093, partitions: 6 };
    expect(renderServerProperties({ ...base, logDir: 'C:\\kafka' })).toContain('log.dirs=C:\\\\kafka\n');
    expect(() => renderServerProperties({ ...base, logDir: '/a\nnode.id=2' })).toThrow(/line break/);
  });
});

describe('renderLog4j2Yaml', () => {
  it('sends the broker log to stdout (appended to logs/kafka.log) at INFO', () => {
    const yaml = renderLog4j2Yaml();
    expect(yaml).toContain('target: SYSTEM_OUT');
    expect(yaml).toMatch(/Root:\n\s+level: INFO/);
  });
});

describe('parseJavaMajor', () => {
  it('reads modern and 1.x version strings', () => {
    expect(parseJavaMajor('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment')).toBe(17);
    expect(parseJavaMajor('openjdk version "21" 2023-09-19')).toBe(21);
    expect(parseJavaMajor('java version "1.8.0_392"')).toBe(8);
    expect(parseJavaMajor('command not found')).toBeUndefined();
  });
});
