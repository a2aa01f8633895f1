import { createContextKey, type Context, type Link, type Attributes, type SpanKind } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace-base';
import type { SamplerName } from './config.ts';
import { isValidTraceparent, isSampledTraceparent } from './traceparent.ts';
import { TraceDecision } from './decision.ts';

/**
 * Head sampling at the edge, without allocating: the configured OTEL_TRACES_SAMPLER is applied
 * here, once per request, and every later hop follows the decision carried in the traceparent.
 * A root decision is `Math.random() < ratio`; a *traceidratio sampler elsewhere hashes the trace id,
 * which needs the id first, an allocation we avoid for the 99.9 % of requests that are not traced.
 */
export class HeadSampler {
  constructor(
    readonly sampler: SamplerName,
    readonly ratio: number,
    /** False when nothing would be exported: no span is ever started, contexts are still passed on. */
    readonly recording: boolean,
  ) {}

  private root(): boolean {
    if (!this.recording) return false;
    switch (this.sampler) {
      case 'always_on':
      case 'parentbased_always_on':
        return true;
      case 'always_off':
      case 'parentbased_always_off':
        return false;
      default:
        return this.ratio > 0 && Math.random() < this.ratio;
    }
  }

  /** `traceparent` is the request's header ('' when absent). */
  decide(traceparent: string): TraceDecision {
    if (traceparent === '' || !isValidTraceparent(traceparent)) return this.root() ? TraceDecision.SAMPLE : TraceDecision.NONE;
    if (!this.recording) return TraceDecision.PROPAGATE;
    let sampled: boolean;
    switch (this.sampler) {
      case 'always_on':
        sampled = true;
        break;
      case 'always_off':
        sampled = false;
        break;
      case 'traceidratio':
        sampled = this.root();
        break;
      default:
        // parentbased_*: a remote parent's sampled flag decides.
        sampled = isSampledTraceparent(traceparent.trim());
    }
    return sampled ? TraceDecision.SAMPLE : TraceDecision.PROPAGATE;
  }
}

/** Set on the context of a span the edge decided to sample, so the SDK sampler agrees. */
export const FORCE_SAMPLE = createContextKey('floodgate.force-sample');

/**
 * The SDK's sampler in every Floodgate process: a span whose context says FORCE_SAMPLE (the edge
 * decided) is sampled; every other span follows its parent (`parentbased_*`), and a root span
 * anywhere else follows the configured root sampler.
 */
export class EdgeDecidedSampler implements Sampler {
  private readonly delegate: Sampler;

  constructor(sampler: SamplerName, ratio: number) {
    const root =
      sampler === 'always_on' || sampler === 'parentbased_always_on'
        ? new AlwaysOnSampler()
        : sampler === 'always_off' || sampler === 'parentbased_always_off'
          ? new AlwaysOffSampler()
          : new TraceIdRatioBasedSampler(ratio);
    this.delegate = new ParentBasedSampler({ root });
  }

  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    if (context.getValue(FORCE_SAMPLE) === true) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    return this.delegate.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `EdgeDecided{${this.delegate.toString()}}`;
  }
}
