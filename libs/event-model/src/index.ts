export { normaliseEvents, partitionKeyOf } from './event.ts';
export type { NormalisedEvent, EventProblem, NormaliseResult } from './event.ts';
