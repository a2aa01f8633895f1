import { describe, expect, it } from 'vitest';
import { isLoopbackHost, loadConfig } from '@floodgate/config';
import { gatewaySchema } from '../src/config.ts';
import { sinkSchema, supervisorSchema } from '../../sink-worker/src/config.ts';

const TOKEN = '0123456789abcdef0123';

describe('isLoopbackHost', () => {
  it('is true only for addresses that can only mean this machine', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '', '10.0.0.1', 'gateway', '127.0.0.1.example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe('config: non-loopback listeners need the admin token (and the gateway API keys)', () => {
  const refused = (schema: Parameters<typeof loadConfig>[0], env: NodeJS.ProcessEnv) => () => loadConfig(schema, { env });
  it('the loopback defaults need neither', () => {
    expect(() => loadConfig(gatewaySchema, { env: { FLOODGATE_API_KEYS: 't:k' } })).not.toThrow();
    expect(() => loadConfig(gatewaySchema, { env: { FLOODGATE_AUTH: 'off' } })).not.toThrow();
    expect(() => loadConfig(supervisorSchema, { env: {} })).not.toThrow();
  });
  it('the gateway names FLOODGATE_ADMIN_TOKEN off loopback, and FLOODGATE_AUTH when it is off', () => {
    expect(refused(gatewaySchema, { GATEWAY_HOST: '0.0.0.0', FLOODGATE_API_KEYS: 't:k' })).toThrow(/FLOODGATE_ADMIN_TOKEN: required when GATEWAY_HOST \(0\.0\.0\.0\)/);
    expect(refused(gatewaySchema, { ADMIN_HOST: 'gateway.internal', FLOODGATE_API_KEYS: 't:k' })).toThrow(/FLOODGATE_ADMIN_TOKEN: required/);
    expect(refused(gatewaySchema, { GATEWAY_HOST: '::', FLOODGATE_AUTH: 'off', FLOODGATE_ADMIN_TOKEN: TOKEN })).toThrow(/FLOODGATE_AUTH: off is refused/);
    expect(() => loadConfig(gatewaySchema, { env: { GATEWAY_HOST: '::', ADMIN_HOST: '0.0.0.0', FLOODGATE_API_KEYS: 't:k', FLOODGATE_ADMIN_TOKEN: TOKEN } })).not.toThrow();
  });
  it('the sink and its supervisor name FLOODGATE_ADMIN_TOKEN when SINK_ADMIN_HOST is not loopback', () => {
    expect(refused(sinkSchema, { SINK_ADMIN_HOST: '0.0.0.0' })).toThrow(/FLOODGATE_ADMIN_TOKEN: required when SINK_ADMIN_HOST \(0\.0\.0\.0\)/);
    expect(refused(supervisorSchema, { SINK_ADMIN_HOST: '::' })).toThrow(/FLOODGATE_ADMIN_TOKEN: required/);
    expect(() => loadConfig(supervisorSchema, { env: { SINK_ADMIN_HOST: '::', FLOODGATE_ADMIN_TOKEN: TOKEN } })).not.toThrow();
  });
});
