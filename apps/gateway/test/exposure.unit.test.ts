import { describe, expect, it } from 'vitest';
import { loadConfig } from '@floodgate/config';
import { gatewaySchema } from '../src/config.ts';

const TOKEN = '0123456789abcdef0123';

describe('config: non-loopback listeners need the admin token (and the gateway API keys)', () => {
  const refused = (schema: Parameters<typeof loadConfig>[0], env: NodeJS.ProcessEnv) => () => loadConfig(schema, { env });
  it('the loopback defaults need neither', () => {
    expect(() => loadConfig(gatewaySchema, { env: { FLOODGATE_API_KEYS: 't:k' } })).not.toThrow();
    expect(() => loadConfig(gatewaySchema, { env: { FLOODGATE_AUTH: 'off' } })).not.toThrow();
  });
  it('the gateway names FLOODGATE_ADMIN_TOKEN off loopback, and FLOODGATE_AUTH when it is off', () => {
    expect(refused(gatewaySchema, { GATEWAY_HOST: '0.0.0.0', FLOODGATE_API_KEYS: 't:k' })).toThrow(/FLOODGATE_ADMIN_TOKEN: required when GATEWAY_HOST \(0\.0\.0\.0\)/);
    expect(refused(gatewaySchema, { ADMIN_HOST: 'gateway.internal', FLOODGATE_API_KEYS: 't:k' })).toThrow(/FLOODGATE_ADMIN_TOKEN: required/);
    expect(refused(gatewaySchema, { GATEWAY_HOST: '::', FLOODGATE_AUTH: 'off', FLOODGATE_ADMIN_TOKEN: TOKEN })).toThrow(/FLOODGATE_AUTH: off is refused/);
    expect(() => loadConfig(gatewaySchema, { env: { GATEWAY_HOST: '::', ADMIN_HOST: '0.0.0.0', FLOODGATE_API_KEYS: 't:k', FLOODGATE_ADMIN_TOKEN: TOKEN } })).not.toThrow();
  });
});
