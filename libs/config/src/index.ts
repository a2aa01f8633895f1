export { loadConfig, env } from './load.ts';
export type { LoadConfigOptions } from './load.ts';
export { parseDurationMs } from './duration.ts';
export { KNOWN_KEYS, OUR_PREFIXES, unknownKeysOfOurs } from './keys.ts';
export { stackSchema, clickhouseUrl, topicReplication, natsAuth, splitNatsUrl } from './stack.ts';
export type { StackConfig, NatsAuth, NatsSettings } from './stack.ts';
export { ensureStackCredentials, readStackCredentials, withStackCredentials, stackCredentialsPath, resolveStackHome, STACK_CREDENTIALS_FILE } from './credentials.ts';
export type { StackCredentials } from './credentials.ts';
export { isLoopbackHost } from './exposure.ts';
