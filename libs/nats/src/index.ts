export { connectNats, natsConnectOptions, natsConnectError, isNatsAuthError } from './connection.ts';
export type { NatsConnectOptions, NatsConnection, NatsSettings } from './connection.ts';
export { JsonBucket, destroyBucket, isRevisionConflict } from './kv.ts';
export type { BucketOptions, Versioned } from './kv.ts';
export { serveRequests, requestJson } from './control.ts';
export type { ControlReply } from './control.ts';
export { keyToken, PREFIX_PATTERN } from './names.ts';
