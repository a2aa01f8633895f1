export { uniqueName } from './names.ts';
export { stackConfigForTests } from './stack.ts';
export { waitFor } from './wait.ts';
export type { WaitForOptions } from './wait.ts';
export { freePort } from './ports.ts';
export { startPrivateKafka, sharedNatsCredentials } from './private-kafka.ts';
export type { PrivateKafka } from './private-kafka.ts';
