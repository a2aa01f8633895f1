export { loadConfig, env } from './load.ts';
export type { LoadConfigOptions } from './load.ts';
export { stackSchema, clickhouseUrl, topicReplication } from './stack.ts';
export type { StackConfig } from './stack.ts';
export { isLoopbackHost } from './exposure.ts';
