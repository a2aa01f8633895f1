export type { IngestTask, IngestReply, IngestWorkerData } from './task.ts';
export { parseRequest, processBatch } from './process-batch.ts';

/** Path of the piscina worker module, for the gateway's pool. */
export const INGEST_WORKER_FILE = new URL('./worker.ts', import.meta.url).href;
