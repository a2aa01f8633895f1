export type { IngestTask, IngestCounts, IngestReply, IngestResult, IngestWorkerData, IngestTelemetrySettings, RequestKind, ContentEncoding } from './task.ts';
export { KIND_CODE, CONTENT_ENCODINGS } from './task.ts';
export { parseRequest, processBatch } from './process-batch.ts';
export { acceptedReply, nack, rejection, seqOf, workerFailedReply, type ReplyTo } from './reply.ts';

/**
 * Path of the piscina worker module, for the gateway's pool: worker.ts when run from source,
 * worker.js in the compiled image (deploy/docker), beside this module either way.
 */
export const INGEST_WORKER_FILE = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url).href;
