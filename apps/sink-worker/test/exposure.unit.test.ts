import { describe, expect, it } from 'vitest';
import { loadConfig } from '@floodgate/config';
import { sinkSchema, supervisorSchema } from '../src/config.ts';

const TOKEN = '0123456789abcdef0123';

describe('config: a non-loopback sink admin listener needs the admin token', () => {
  const refused = (schema: Parameters<typeof loadConfig>[0], env: NodeJS.ProcessEnv) => () => loadConfig(schema, { env });
  it('the loopback default needs none', () => {
    expect(() => loadConfig(supervisorSchema, { env: {} })).not.toThrow();
  });
  it('the sink and its supervisor name FLOODGATE_ADMIN_TOKEN when SINK_ADMIN_HOST is not loopback', () => {
    expect(refused(sinkSchema, { SINK_ADMIN_HOST: '0.0.0.0' })).toThrow(/FLOODGATE_ADMIN_TOKEN: required when SINK_ADMIN_HOST \(0\.0\.0\.0\)/);
    expect(refused(supervisorSchema, { SINK_ADMIN_HOST: '::' })).toThrow(/FLOODGATE_ADMIN_TOKEN: required/);
    expect(() => loadConfig(supervisorSchema, { env: { SINK_ADMIN_HOST: '::', FLOODGATE_ADMIN_TOKEN: TOKEN } })).not.toThrow();
  });
});
