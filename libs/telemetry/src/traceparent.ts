import { ROOT_CONTEXT, trace, TraceFlags, type Context, type Link, type SpanContext } from '@opentelemetry/api';

/**
 * W3C Trace Context `traceparent` strings, handled without allocating until a trace is sampled: the
 * hot paths only ask `isSampledTraceparent`, a few character reads.
 *
 * `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`; a future version may append fields, so
 * only version 00 must be exactly 55 characters (https://www.w3.org/TR/trace-context/#traceparent-header).
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

export interface Traceparent {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/** The parts of a valid traceparent, or undefined (malformed, version ff, or all-zero ids). */
export function parseTraceparent(header: string): Traceparent | undefined {
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** A well-formed traceparent (see parseTraceparent), for deciding whether to pass a client's header on. */
export function isValidTraceparent(header: string): boolean {
  return parseTraceparent(header) !== undefined;
}

/**
 * Whether a traceparent that is known to be valid (one we made or validated) has its sampled flag
 * set. Reads one character: the low bit of the flags byte is the last hex digit's low bit.
 */
export function isSampledTraceparent(valid: string): boolean {
  const last = valid.charCodeAt(54);
  // '0'..'9' = 48..57, 'a'..'f' = 97..102: odd digits have the low bit set, as do b, d, f.
  return last >= 97 ? (last - 87) % 2 === 1 : (last - 48) % 2 === 1;
}

export function formatTraceparent(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & TraceFlags.SAMPLED) === 1 ? '01' : '00'}`;
}

/** The remote span context of a traceparent, or undefined when it is not valid. */
export function spanContextOf(header: string): SpanContext | undefined {
  const parsed = parseTraceparent(header);
  if (!parsed) return undefined;
  return {
    traceId: parsed.traceId,
    spanId: parsed.spanId,
    traceFlags: parsed.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  };
}

/** A context whose parent is the given traceparent (for `tracer.startSpan(name, options, context)`). */
export function contextOf(header: string, base: Context = ROOT_CONTEXT): Context | undefined {
  const spanContext = spanContextOf(header);
  return spanContext ? trace.setSpanContext(base, spanContext) : undefined;
}

/**
 * The sampled contexts among some traceparents (many events share one request's header: each
 * distinct header is parsed once), with how many items carried each, in first-seen order.
 */
export function sampledContexts(headers: Iterable<string | undefined>): { context: SpanContext; header: string; count: number }[] {
  const seen = new Map<string, { context: SpanContext; header: string; count: number }>();
  for (const header of headers) {
    if (!header) continue;
    const known = seen.get(header);
    if (known) {
      known.count++;
      continue;
    }
    const context = spanContextOf(header);
    if (context && (context.traceFlags & TraceFlags.SAMPLED) === 1) seen.set(header, { context, header, count: 1 });
  }
  return [...seen.values()];
}

/** Links to span contexts, each with its attributes. */
export function linksTo(contexts: readonly { context: SpanContext; attributes?: Link['attributes'] }[]): Link[] {
  return contexts.map(({ context, attributes }) => (attributes ? { context, attributes } : { context }));
}
