/** What the gateway does with a request's trace context. */
export const TraceDecision = Object.freeze({
  /** Not traced; nothing is passed on. */
  NONE: 0,
  /** Not traced here, but the client's (unsampled) traceparent is passed on unchanged. */
  PROPAGATE: 1,
  /** Traced: a server span is started and its context passed on. */
  SAMPLE: 2,
} as const);
export type TraceDecision = (typeof TraceDecision)[keyof typeof TraceDecision];
