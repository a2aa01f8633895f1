/** Limits a request must respect; all configurable, defaults documented in the README. */
export interface EventLimits {
  /** Events in one request. */
  maxEventsPerRequest: number;
  /** Bytes of one normalised event as stored in Kafka. */
  maxEventBytes: number;
  /** Nesting depth of arrays and objects in a body, counting the batch array and the event. */
  maxDepth: number;
}

export const DEFAULT_EVENT_LIMITS: Readonly<EventLimits> = Object.freeze({
  maxEventsPerRequest: 10_000,
  maxEventBytes: 256 * 1024,
  maxDepth: 32,
});

/**
 * Deepest nesting of `[`/`{` in JSON text, ignoring brackets inside strings. Runs before
 * JSON.parse so an over-deep body is refused cheaply and never recursed into.
 */
export function jsonDepth(text: string, stopAbove: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return deepest;
}
