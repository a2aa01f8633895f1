import { describe, expect, it } from 'vitest';
import { stackConfigForTests, uniqueName, waitFor } from '../src/index.ts';

describe('uniqueName', () => {
  it('is unique, keeps the prefix, and is a valid Kafka topic and ClickHouse identifier', () => {
    const names = Array.from({ length: 2000 }, () => uniqueName('it_events'));
    expect(new Set(names).size).toBe(names.length);
    for (const name of names.slice(0, 50)) {
      expect(name.startsWith('it_events_')).toBe(true);
      expect(name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
      expect(name.length).toBeLessThan(100);
    }
  });

  it('replaces characters an identifier cannot hold', () => {
    expect(uniqueName('events-dlq.v1')).toMatch(/^events_dlq_v1_[a-z0-9]+$/);
    expect(uniqueName('1st')).toMatch(/^_1st_/);
  });
});

describe('waitFor', () => {
  it('resolves with the first truthy value, treating throws as not yet', async () => {
    let calls = 0;
    const value = await waitFor(
      () => {
        calls++;
        if (calls < 3) throw new Error('not yet');
        return calls === 4 ? { rows: 4 } : 0;
      },
      { timeoutMs: 2000, intervalMs: 1 },
    );
    expect(value).toEqual({ rows: 4 });
    expect(calls).toBe(4);
  });

  it('fails saying what it waited for, how long, and the last error', async () => {
    await expect(
      waitFor(
        async () => {
          throw new Error('connect ECONNREFUSED');
        },
        { timeoutMs: 50, intervalMs: 10, description: 'the sink to insert 10 rows' },
      ),
    ).rejects.toThrow(/^timed out after 50 ms waiting for the sink to insert 10 rows \(\d+ attempts; last error: connect ECONNREFUSED\)$/);
    await expect(waitFor(() => false, { timeoutMs: 20, intervalMs: 5 })).rejects.toThrow(/waiting for a condition .*last result: false/);
  });
});

describe('stackConfigForTests', () => {
  it('reads the stack settings from the environment given', () => {
    const config = stackConfigForTests({ KAFKA_BROKERS: '127.0.0.1:19092', FLOODGATE_HOME: '/tmp/x' });
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:19092']);
    expect(config.FLOODGATE_HOME).toBe('/tmp/x');
    expect(Object.isFrozen(config)).toBe(true);
  });
});
