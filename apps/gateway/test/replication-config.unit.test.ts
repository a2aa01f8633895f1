import { describe, expect, it } from 'vitest';
import { loadConfig } from '@floodgate/config';
import { gatewaySchema } from '../src/config.ts';

describe('topic replication settings', () => {
  it('the gateway refuses min.insync.replicas above the replication factor at start-up', () => {
    expect(() =>
      loadConfig(gatewaySchema, { env: { FLOODGATE_API_KEYS: 'default:k', KAFKA_REPLICATION_FACTOR: '1', KAFKA_MIN_INSYNC_REPLICAS: '2' } }),
    ).toThrow(/KAFKA_MIN_INSYNC_REPLICAS: must not exceed KAFKA_REPLICATION_FACTOR/);
  });
});
