import { describe, expect, it } from 'vitest';
import { loadConfig, stackSchema } from '@floodgate/config';
import { renderTable } from '@floodgate/tables';
import { renderStatusTable } from '../src/stack/format.ts';
import { serverPlans } from '../src/stack/servers.ts';

const HOME = '/tmp/fg-home';

function plans(env: Record<string, string> = {}) {
  const config = loadConfig(stackSchema, { env: { FLOODGATE_HOME: HOME, ...env } });
  return Object.fromEntries(serverPlans(config).map((p) => [p.name, p]));
}

describe('which servers stack up may start', () => {
  it('starts all three by default, on the default ports (Kafka controller on broker + 1)', () => {
    const { kafka, nats, clickhouse } = plans();
    expect(kafka!.configuredExternal).toBeUndefined();
    expect(kafka!.binds.map((b) => `${b.host}:${b.port}`)).toEqual(['127.0.0.1:9092', '127.0.0.1:9093']);
    expect(nats!.configuredExternal).toBeUndefined();
    expect(nats!.binds.map((b) => `${b.host}:${b.port}`)).toEqual(['127.0.0.1:4222']);
    expect(clickhouse!.configuredExternal).toBeUndefined();
    expect(clickhouse!.address).toBe('http://127.0.0.1:8123');
    expect(kafka!.pidFile).toBe(`${HOME}/run/kafka.pid`);
    expect(nats!.logFile).toBe(`${HOME}/logs/nats.log`);
  });

  it('honours the port settings', () => {
    const { kafka, nats, clickhouse } = plans({
      KAFKA_BROKERS: 'localhost:19092',
      KAFKA_CONTROLLER_PORT: '19999',
      NATS_URL: 'nats://127.0.0.1:14222',
      NATS_MONITOR_PORT: '18222',
      CLICKHOUSE_EMBEDDED_PORT: '18123',
    });
    expect(kafka!.binds.map((b) => b.port)).toEqual([19092, 19999]);
    expect(kafka!.binds[0]!.host).toBe('127.0.0.1');
    expect(nats!.binds.map((b) => b.port)).toEqual([14222, 18222]);
    expect(clickhouse!.binds.map((b) => b.port)).toEqual([18123]);
  });

  it('never starts what the configuration points elsewhere', () => {
    expect(plans({ KAFKA_BROKERS: 'k1:9092,k2:9092' }).kafka!.configuredExternal).toBe('KAFKA_BROKERS names several brokers');
    expect(plans({ KAFKA_BROKERS: '10.0.0.5:9092' }).kafka!.configuredExternal).toBe('KAFKA_BROKERS is not on this machine');
    expect(plans({ NATS_URL: 'nats://nats.example.com:4222' }).nats!.configuredExternal).toBe('NATS_URL is not on this machine');
    expect(plans({ NATS_URL: 'nats://u:p@127.0.0.1:4222' }).nats!.configuredExternal).toBe('NATS_URL carries credentials');
    expect(plans({ NATS_URL: 'tls://127.0.0.1:4222' }).nats!.configuredExternal).toBe('NATS_URL uses tls://');
    // Credentials that are not this home's generated ones (it has none here) are someone else's server's.
    expect(plans({ NATS_USER: 'u', NATS_PASSWORD: 'p' }).nats!.configuredExternal).toBe('NATS credentials are set (NATS_USER/NATS_PASSWORD)');
    expect(plans({ NATS_TOKEN: 't' }).nats!.configuredExternal).toBe('NATS credentials are set (NATS_TOKEN)');
    const { clickhouse } = plans({ CLICKHOUSE_URL: 'http://user:secret@127.0.0.1:8123' });
    expect(clickhouse!.configuredExternal).toBe('CLICKHOUSE_URL is set');
    expect(clickhouse!.address).not.toContain('secret');
  });

  it('refuses a controller port equal to the broker port', () => {
    expect(() => plans({ KAFKA_BROKERS: '127.0.0.1:9092', KAFKA_CONTROLLER_PORT: '9092' })).toThrow(/KAFKA_CONTROLLER_PORT: 9092 is also the broker port/);
  });
});

describe('recognising our processes by command line', () => {
  const { kafka, nats, clickhouse } = plans();

  it('accepts the command lines stack up runs for this FLOODGATE_HOME', () => {
    expect(kafka!.isOurs(['/usr/bin/java', '-Xmx512m', '-cp', `${HOME}/cache/x/*`, 'kafka.Kafka', `${HOME}/config/kafka/server.properties`])).toBe(true);
    expect(nats!.isOurs(['/usr/sbin/nats-server', '-a', '127.0.0.1', '-p', '4222', '-js', '-sd', `${HOME}/data/nats`])).toBe(true);
    expect(clickhouse!.isOurs(['/usr/bin/node', `--diagnostic-dir=${HOME}/logs`, '--import', 'tsx', 'apps/chdb-server/src/main.ts'])).toBe(true);
  });

  it('rejects the same servers of another home, and unrelated programs', () => {
    expect(kafka!.isOurs(['java', '-cp', 'x', 'kafka.Kafka', '/tmp/other/config/kafka/server.properties'])).toBe(false);
    expect(nats!.isOurs(['nats-server', '-p', '4222'])).toBe(false);
    expect(nats!.isOurs(['/bin/cat', `${HOME}/data/nats`])).toBe(false);
    expect(clickhouse!.isOurs(['node', '--import', 'tsx', 'apps/chdb-server/src/main.ts'])).toBe(false);
    expect(clickhouse!.isOurs(['bash'])).toBe(false);
  });
});

describe('status table', () => {
  it('pads columns and shows pid, external or -', () => {
    const text = renderStatusTable([
      { name: 'kafka', address: '127.0.0.1:9092', pid: 812, external: false, healthy: true, log: '/h/logs/kafka.log' },
      { name: 'nats', address: '127.0.0.1:4222', pid: null, external: true, healthy: true, log: null },
      { name: 'clickhouse', address: 'http://127.0.0.1:8123', pid: null, external: false, healthy: false, log: '/h/logs/clickhouse.log', note: 'connect ECONNREFUSED 127.0.0.1:8123' },
    ]);
    expect(text.split('\n')).toEqual([
      'NAME        ADDRESS                PID       HEALTH  NOTE',
      'kafka       127.0.0.1:9092         812       up',
      'nats        127.0.0.1:4222         external  up',
      'clickhouse  http://127.0.0.1:8123  -         down    connect ECONNREFUSED 127.0.0.1:8123',
    ]);
  });

  it('renders an empty table as its header', () => {
    expect(renderTable(['A', 'B'], [])).toBe('A  B');
  });
});
