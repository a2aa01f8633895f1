import { z } from 'zod';
import { env, loadConfig } from '@floodgate/config';

/** The OTEL_TRACES_SAMPLER values of the OpenTelemetry specification. */
export const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** Span exporters by their OTEL_TRACES_EXPORTER names; `clickhouse` is ours (the default span store). */
export const EXPORTERS = ['clickhouse', 'otlp', 'console', 'none'] as const;
export type ExporterName = (typeof EXPORTERS)[number];

/**
 * Sampling ratio used when OTEL_TRACES_SAMPLER_ARG is not set: 1 request in 1,000 starts a trace
 * (a client's sampled traceparent always does). Low enough that tracing costs next to nothing at
 * full rate (docs/tracing.md has the measurement), high enough that a few traces a second exist
 * under load to look at.
 */
export const DEFAULT_SAMPLE_RATIO = 0.001;
/** Links allowed per span (the SDK's default is 128): a ClickHouse insert links to every sampled event of its batch. */
export const DEFAULT_LINK_LIMIT = 10_000;
/** How often queued spans are exported when OTEL_BSP_SCHEDULE_DELAY is unset (the SDK's default is 5 s). */
export const DEFAULT_EXPORT_DELAY_MS = 1000;

const protocol = z.enum(['http/protobuf', 'http/json', 'grpc']).optional();

/**
 * The standard OpenTelemetry environment variables we read (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
 * Unlike the SDK, which logs and falls back, a bad value stops the app at start-up naming the variable.
 * OTLP endpoint, headers, timeout and compression are passed to the OTLP exporter, which reads them itself.
 */
export const telemetrySchema = z
  .object({
    OTEL_SDK_DISABLED: env.bool(false),
    OTEL_SERVICE_NAME: z.string().min(1).optional(),
    /** Comma-separated; unset: `clickhouse`, plus `otlp` when an OTLP endpoint is set. */
    OTEL_TRACES_EXPORTER: z
      .string()
      .optional()
      .transform((v) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean)))
      .pipe(z.array(z.enum(EXPORTERS)).optional()),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol,
    OTEL_TRACES_SAMPLER: z.enum(SAMPLERS).default('parentbased_traceidratio'),
    OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
    OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(0).optional(),
    OTEL_SPAN_LINK_COUNT_LIMIT: z.coerce.number().int().min(0).optional(),
  })
  .superRefine((c, ctx) => {
    for (const key of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'] as const) {
      if (c[key] === 'grpc') {
        ctx.addIssue({ code: 'custom', path: [key], message: 'grpc is not supported here; use http/protobuf (the default) or http/json, usually on port 4318' });
      }
    }
  });

export type TelemetryEnv = z.infer<typeof telemetrySchema>;

export interface TelemetrySettings {
  disabled: boolean;
  /** OTEL_SERVICE_NAME, when set. */
  serviceName?: string;
  exporters: ExporterName[];
  otlpProtocol: 'http/protobuf' | 'http/json';
  sampler: SamplerName;
  /** The ratio of the *traceidratio samplers (0..1). */
  ratio: number;
  exportDelayMs: number;
  linkLimit: number;
}

/** Reads the OTEL_* variables (and a FLOODGATE_CONFIG file) when called, never at import time. */
export function telemetrySettings(environment: NodeJS.ProcessEnv = process.env): Readonly<TelemetrySettings> {
  const c = loadConfig(telemetrySchema, { env: environment });
  const otlpSet = c.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined;
  let exporters: ExporterName[] = c.OTEL_TRACES_EXPORTER ?? (otlpSet ? ['clickhouse', 'otlp'] : ['clickhouse']);
  if (exporters.includes('none')) exporters = [];
  const protocolName = c.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? c.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  return Object.freeze({
    disabled: c.OTEL_SDK_DISABLED,
    serviceName: c.OTEL_SERVICE_NAME,
    exporters: [...new Set(exporters)],
    otlpProtocol: protocolName === 'http/json' ? 'http/json' : 'http/protobuf',
    sampler: c.OTEL_TRACES_SAMPLER,
    ratio: c.OTEL_TRACES_SAMPLER_ARG ?? DEFAULT_SAMPLE_RATIO,
    exportDelayMs: c.OTEL_BSP_SCHEDULE_DELAY ?? DEFAULT_EXPORT_DELAY_MS,
    linkLimit: c.OTEL_SPAN_LINK_COUNT_LIMIT ?? DEFAULT_LINK_LIMIT,
  });
}
