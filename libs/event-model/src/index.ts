export { parseEvents, parseItems, normaliseItems, partitionKeyOf, normaliseTime, FORMAT_OF_CONTENT_TYPE } from './event.ts';
export type { NormalisedEvent, EventProblem, BodyFormat, ParseOutcome, ParseContext, RejectCode } from './event.ts';
export { DEFAULT_EVENT_LIMITS, jsonDepth } from './limits.ts';
export type { EventLimits } from './limits.ts';
export { newEventId } from './ids.ts';
