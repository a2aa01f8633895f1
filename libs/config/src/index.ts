export { loadConfig, env } from './load.ts';
export type { LoadConfigOptions } from './load.ts';
export { parseDurationMs } from './duration.ts';
export { KNOWN_KEYS, OUR_PREFIXES, unknownKeysOfOurs } from './keys.ts';
export { stackSchema, clickhouseUrl, topicReplication } from './stack.ts';
export type { StackConfig } from './stack.ts';
