/**
 * SDK set-up, one per process and one per worker thread. Everything else in Floodgate creates
 * spans through `@opentelemetry/api` only; this module owns the provider, the sampler, the span
 * processors and the exporters.
 */
import { hostname } from 'node:os';
import { isMainThread, threadId } from 'node:worker_threads';
import { diag, DiagLogLevel, propagation, ROOT_CONTEXT, SpanKind, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { createClickHouse, migrate, MIGRATION_RANGES } from '@floodgate/clickhouse';
import type { Logger } from '@floodgate/logging';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_NAMESPACE } from './attributes.ts';
import { ClickHouseSpanExporter } from './clickhouse-exporter.ts';
import { telemetrySettings, type TelemetrySettings } from './config.ts';
import { EdgeDecidedSampler, FORCE_SAMPLE, HeadSampler } from './sampler.ts';
import type { TraceDecision } from './decision.ts';
import { contextOf } from './traceparent.ts';
import { listenForFlush } from './worker-flush.ts';

/** Where the default span store is. */
export interface SpanStoreLocation {
  url: string;
  username: string;
  password: string;
  database: string;
}

export interface SetupTracingOptions {
  /** service.name when OTEL_SERVICE_NAME is unset, e.g. `floodgate-gateway`. */
  defaultServiceName: string;
  /**
   * How OTEL_SERVICE_NAME, when set, becomes this service's name. Default: used as it is. The ingest
   * worker threads share their gateway's environment and append `-ingest-worker`, so they stay a
   * service of their own.
   */
  serviceNameFromEnv?: (name: string) => string;
  /** The ClickHouse span store (the `clickhouse` exporter); required when that exporter is on. */
  spanStore?: SpanStoreLocation;
  logger?: Logger;
  /** Environment to read OTEL_* from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** In a worker thread: answer flush requests on this BroadcastChannel (see flushWorkerTelemetry). */
  flushChannel?: string;
}

export interface Tracing {
  /** Spans are recorded and exported somewhere. */
  readonly recording: boolean;
  readonly serviceName: string;
  readonly settings: Readonly<TelemetrySettings>;
  readonly tracer: Tracer;
  /** The head-sampling decision for a request at the edge; `traceparent` is its header or ''. Allocation-free. */
  decide(traceparent: string): TraceDecision;
  /**
   * Starts the server span of a request that `decide` sampled, as a child of its traceparent when
   * valid. The span is sampled whatever the SDK sampler would say: the edge decided.
   */
  startRequestSpan(name: string, traceparent: string, attributes: Attributes, startTime?: number): Span;
  forceFlush(): Promise<void>;
  /** Flushes and stops the exporters. Runs once. */
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

function serviceInstanceId(): string {
  return isMainThread ? `${hostname()}-${process.pid}` : `${hostname()}-${process.pid}-t${threadId}`;
}

function otlpExporter(settings: TelemetrySettings): SpanExporter {
  // Endpoint, headers, timeout and compression come from the OTEL_EXPORTER_OTLP_* variables,
  // which the exporter reads itself (…/v1/traces is appended to OTEL_EXPORTER_OTLP_ENDPOINT).
  return settings.otlpProtocol === 'http/json' ? new OtlpJsonExporter() : new OtlpProtoExporter();
}

/**
 * Registers the global tracer provider and the W3C propagator for this process or thread,
 * configured by the standard OTEL_* variables (docs/tracing.md). Call once, early; a second call
 * returns the first result.
 *
 * No context manager is registered, on purpose: every span here is started with an explicit parent
 * context, and the AsyncLocalStorage one would put a promise hook on every `await` of the process
 * once used (measured on Node 20: a promise-heavy loop 2.3 times slower), traced or not.
 */
export function setupTracing(options: SetupTracingOptions): Tracing {
  if (active) return active;
  const settings = telemetrySettings(options.env);
  const serviceName = settings.serviceName
    ? (options.serviceNameFromEnv ?? ((name: string) => name))(settings.serviceName)
    : options.defaultServiceName;
  const logger = options.logger;
  if (logger) {
    diag.setLogger(
      {
        error: (message, ...args) => logger.error({ args }, `opentelemetry: ${message}`),
        warn: (message, ...args) => logger.warn({ args }, `opentelemetry: ${message}`),
        info: () => {},
        debug: () => {},
        verbose: () => {},
      },
      { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
    );
  }

  const exporters: SpanExporter[] = [];
  if (!settings.disabled) {
    for (const name of settings.exporters) {
      if (name === 'otlp') exporters.push(otlpExporter(settings));
      else if (name === 'console') exporters.push(new ConsoleSpanExporter());
      else if (name === 'clickhouse') {
        if (!options.spanStore) {
          logger?.warn('the clickhouse span exporter has no ClickHouse location here; spans go to the other exporters only');
          continue;
        }
        const store = options.spanStore;
        const client = createClickHouse({ url: store.url, username: store.username, password: store.password, database: 'default', requestTimeoutMs: 10_000 });
        exporters.push(
          new ClickHouseSpanExporter({
            client,
            database: store.database,
            ensureSchema: () => migrate(client, store.database, { versions: MIGRATION_RANGES.traces }),
            ...(logger ? { logger } : {}),
          }),
        );
      }
    }
  }
  const recording = exporters.length > 0;
  const processors: SpanProcessor[] = exporters.map(
    (exporter) => new BatchSpanProcessor(exporter, { scheduledDelayMillis: settings.exportDelayMs }),
  );

  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAMESPACE]: 'floodgate', 'service.instance.id': serviceInstanceId() })
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }));
  const provider = new BasicTracerProvider({
    resource,
    sampler: new EdgeDecidedSampler(settings.sampler, settings.ratio),
    spanLimits: { linkCountLimit: settings.linkLimit },
    spanProcessors: processors,
  });
  if (recording) trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());

  const tracer = trace.getTracer('floodgate', '0.1.0');
  const head = new HeadSampler(settings.sampler, settings.ratio, recording);
  let shutdownPromise: Promise<void> | undefined;
  const stopFlushListener = options.flushChannel ? listenForFlush(options.flushChannel, () => provider.forceFlush()) : () => {};

  active = {
    recording,
    serviceName,
    settings,
    tracer,
    decide: (traceparent) => head.decide(traceparent),
    startRequestSpan(name, traceparent, attributes, startTime) {
      const parent = (traceparent && contextOf(traceparent)) || ROOT_CONTEXT;
      return tracer.startSpan(name, { kind: SpanKind.SERVER, attributes, ...(startTime === undefined ? {} : { startTime }) }, parent.setValue(FORCE_SAMPLE, true));
    },
    forceFlush: () => provider.forceFlush(),
    shutdown() {
      shutdownPromise ??= (async () => {
        stopFlushListener();
        await provider.shutdown().catch((error: unknown) => logger?.warn({ err: error }, 'span exporters did not shut down cleanly'));
      })();
      return shutdownPromise;
    },
  };
  return active;
}
