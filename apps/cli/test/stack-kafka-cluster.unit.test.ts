import { describe, expect, it } from 'vitest';
import { loadConfig, stackSchema } from '@floodgate/config';
import { newClusterId, renderServerProperties } from '../src/stack/kafka.ts';
import { serverPlans } from '../src/stack/servers.ts';

const HOME = '/tmp/fg-home';

function config(env: Record<string, string> = {}) {
  return loadConfig(stackSchema, { env: { FLOODGATE_HOME: HOME, ...env } });
}

function parseProperties(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('KAFKA_LOCAL_BROKERS=3: the local replicated Kafka', () => {
  it('defaults KAFKA_BROKERS to the three local brokers and replication to 3 with min.insync.replicas 2', () => {
    const c = config({ KAFKA_LOCAL_BROKERS: '3' });
    expect(c.KAFKA_BROKERS).toEqual(['127.0.0.1:9092', '127.0.0.1:9094', '127.0.0.1:9096']);
    expect(c.KAFKA_REPLICATION_FACTOR).toBe(3);
    expect(c.KAFKA_MIN_INSYNC_REPLICAS).toBe(2);
  });

  it('keeps explicit settings over the 3-broker defaults, and the single-broker defaults when unset', () => {
    const c = config({ KAFKA_LOCAL_BROKERS: '3', KAFKA_BROKERS: '127.0.0.1:19192,127.0.0.1:19194,127.0.0.1:19196', KAFKA_MIN_INSYNC_REPLICAS: '3' });
    expect(c.KAFKA_BROKERS).toEqual(['127.0.0.1:19192', '127.0.0.1:19194', '127.0.0.1:19196']);
    expect(c.KAFKA_MIN_INSYNC_REPLICAS).toBe(3);
    const single = config();
    expect(single.KAFKA_LOCAL_BROKERS).toBe(1);
    expect(single.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect([single.KAFKA_REPLICATION_FACTOR, single.KAFKA_MIN_INSYNC_REPLICAS]).toEqual([1, 1]);
  });

  it('refuses a broker count other than 1 or 3', () => {
    expect(() => config({ KAFKA_LOCAL_BROKERS: '2' })).toThrow(/KAFKA_LOCAL_BROKERS: must be 1 or 3/);
  });

  it('plans three brokers kafka-1..kafka-3, each with its controller on broker port + 1 and its own pid file', () => {
    const plans = serverPlans(config({ KAFKA_LOCAL_BROKERS: '3' }));
    expect(plans.map((p) => p.name)).toEqual(['kafka-1', 'kafka-2', 'kafka-3', 'nats', 'clickhouse']);
    const kafka = plans.slice(0, 3);
    expect(kafka.map((p) => p.binds.map((b) => `${b.host}:${b.port}`))).toEqual([
      ['127.0.0.1:9092', '127.0.0.1:9093'],
      ['127.0.0.1:9094', '127.0.0.1:9095'],
      ['127.0.0.1:9096', '127.0.0.1:9097'],
    ]);
    expect(kafka.map((p) => p.configuredExternal)).toEqual([undefined, undefined, undefined]);
    expect(kafka.map((p) => p.pidFile)).toEqual([`${HOME}/run/kafka-1.pid`, `${HOME}/run/kafka-2.pid`, `${HOME}/run/kafka-3.pid`]);
    // Each broker is recognised by its own properties file only.
    const argv = (n: number) => ['java', '-cp', 'x', 'kafka.Kafka', `${HOME}/config/kafka-${n}/server.properties`];
    expect(kafka[1]!.isOurs(argv(2))).toBe(true);
    expect(kafka[1]!.isOurs(argv(1))).toBe(false);
  });

  it('refuses a broker list that does not match the count, is not local, or whose controller ports collide', () => {
    expect(() => serverPlans(config({ KAFKA_LOCAL_BROKERS: '3', KAFKA_BROKERS: '127.0.0.1:9092' }))).toThrow(/needs 3 brokers listed, got 1/);
    expect(() => serverPlans(config({ KAFKA_LOCAL_BROKERS: '3', KAFKA_BROKERS: '127.0.0.1:9092,10.0.0.2:9092,127.0.0.1:9096' }))).toThrow(/10\.0\.0\.2:9092 is not on this machine/);
    expect(() => serverPlans(config({ KAFKA_LOCAL_BROKERS: '3', KAFKA_BROKERS: '127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9096' }))).toThrow(/port 9093 .* used twice/);
  });

  it('renders a member of the quorum: its node id, all three voters, replicated internal topics and topic defaults 3 / 2', () => {
    const props = parseProperties(
      renderServerProperties({
        broker: { host: '127.0.0.1', port: 9094 },
        bindHost: '127.0.0.1',
        controllerPort: 9095,
        logDir: '/h/data/kafka-2',
        partitions: 6,
        cluster: {
          nodeId: 2,
          voters: [
            { nodeId: 1, host: '127.0.0.1', port: 9093 },
            { nodeId: 2, host: '127.0.0.1', port: 9095 },
            { nodeId: 3, host: '127.0.0.1', port: 9097 },
          ],
          replicationFactor: 3,
          minInsyncReplicas: 2,
        },
      }),
    );
    expect(props).toMatchObject({
      'node.id': '2',
      'controller.quorum.voters': '1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097',
      listeners: 'PLAINTEXT://127.0.0.1:9094,CONTROLLER://127.0.0.1:9095',
      'advertised.listeners': 'PLAINTEXT://127.0.0.1:9094',
      'log.dirs': '/h/data/kafka-2',
      'offsets.topic.replication.factor': '3',
      'transaction.state.log.replication.factor': '3',
      'transaction.state.log.min.isr': '2',
      'default.replication.factor': '3',
      'min.insync.replicas': '2',
    });
  });

  it('makes cluster ids StorageTool takes: 22 base64url characters, never a leading "-" (read as an option by `format -t`)', () => {
    const ids = Array.from({ length: 5000 }, newClusterId);
    expect(ids.every((id) => /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(5000);
  });
});
