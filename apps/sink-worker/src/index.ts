export { createSink } from './sink.ts';
export type { Sink } from './sink.ts';
export { sinkSchema } from './config.ts';
export type { SinkConfig } from './config.ts';
