// The SDK side: only apps import this (set-up, exporters, the edge sampler).
export { setupTracing } from './sdk.ts';
export type { Tracing, SetupTracingOptions, SpanStoreLocation } from './sdk.ts';
export { telemetrySettings, telemetrySchema, DEFAULT_SAMPLE_RATIO, DEFAULT_LINK_LIMIT, DEFAULT_EXPORT_DELAY_MS, SAMPLERS, EXPORTERS } from './config.ts';
export type { TelemetrySettings, SamplerName, ExporterName } from './config.ts';
export { HeadSampler, EdgeDecidedSampler, FORCE_SAMPLE } from './sampler.ts';
export { ClickHouseSpanExporter, toTraceRow, hrTimeToDateTime64 } from './clickhouse-exporter.ts';
export type { TraceRow, ClickHouseSpanExporterOptions } from './clickhouse-exporter.ts';
