import { describe, expect, it } from 'vitest';
import { unknownKeysOfOurs, stackSchema } from '@floodgate/config';
import { gatewaySchema } from '@floodgate/gateway';
import { sinkSchema, supervisorSchema } from '@floodgate/sink-worker';

/** Apps share one environment: a variable one app reads must be known to all (libs/config/src/keys.ts). */
describe('the registry of our variables', () => {
  it("knows every variable of every app's schema", () => {
    for (const schema of [stackSchema, gatewaySchema, sinkSchema, supervisorSchema]) {
      expect(unknownKeysOfOurs(Object.keys(schema.shape))).toEqual([]);
    }
  });
});
