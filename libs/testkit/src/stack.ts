import { loadConfig, stackSchema, type StackConfig } from '@floodgate/config';

/**
 * The stack configuration tests run against: the same environment variables (and FLOODGATE_CONFIG
 * file) as `floodgate stack up`, read when called. The stack itself is started before the tests
 * (`npm test` runs `floodgate stack up` first).
 */
export function stackConfigForTests(env: NodeJS.ProcessEnv = process.env): Readonly<StackConfig> {
  return loadConfig(stackSchema, { env });
}
