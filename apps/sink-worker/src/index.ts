export { createSink } from './sink.ts';
export type { Sink, SinkDeps, DrainOutcome } from './sink.ts';
export { sinkSchema, supervisorSchema, rangeSchema } from './config.ts';
export type { SinkConfig, SupervisorConfig } from './config.ts';
export { DLQ_HEADERS } from './dead-letter.ts';
export { createSinkSupervisor } from './supervisor.ts';
export type { SinkSupervisor, SupervisorDeps } from './supervisor.ts';
export { runSupervisor } from './run-supervisor.ts';
