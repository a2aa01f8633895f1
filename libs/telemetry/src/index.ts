// API-level helpers, safe to import anywhere (no SDK): traceparent handling, attribute names,
// journey assembly and the span store reader. The SDK set-up is `@floodgate/telemetry/sdk`.
export {
  parseTraceparent,
  isValidTraceparent,
  isSampledTraceparent,
  formatTraceparent,
  spanContextOf,
  contextOf,
  sampledContexts,
  linksTo,
} from './traceparent.ts';
export type { Traceparent } from './traceparent.ts';
export { TraceDecision } from './decision.ts';
// Attribute names: import them from '@floodgate/telemetry/attributes' (one list, in attributes.ts).
export type { Hop } from './attributes.ts';
export { buildJourney, summarise, formatBytes } from './journey.ts';
export type { Journey, JourneyHop, JourneyEvent, JourneySpanRow } from './journey.ts';
export { TraceStore, parseDuration } from './store.ts';
export type { JourneySummary, TraceStoreOptions } from './store.ts';
export { TRACES_TABLE } from './clickhouse-exporter.ts';
export { flushWorkerTelemetry } from './worker-flush.ts';
export { createEventCounters, createKafkaProduceFailures, EVENT_METRIC_NAMES } from './event-metrics.ts';
export type { Component, EventCounters } from './event-metrics.ts';
