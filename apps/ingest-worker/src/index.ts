export type { IngestTask, IngestReply, IngestResult, IngestWorkerData, IngestTelemetrySettings, RequestKind, ContentEncoding } from './task.ts';
export { KIND_CODE, CONTENT_ENCODINGS } from './task.ts';
export { parseRequest, processBatch } from './process-batch.ts';

/** Path of the piscina worker module, for the gateway's pool. */
export const INGEST_WORKER_FILE = new URL('./worker.ts', import.meta.url).href;
