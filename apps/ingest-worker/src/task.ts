/**
 * The contract between a gateway process and its ingest workers. Request bodies of one
 * micro-batch travel in a single transferred ArrayBuffer (no per-request copies), cut by offsets.
 */
export interface IngestTask {
  /** All request bodies, back to back. Transferred, not copied. */
  bodies: ArrayBuffer;
  /** Request i's body is bodies[offsets[i], offsets[i+1]). Length = requests + 1. */
  offsets: Uint32Array;
  tenants: string[];
  receivedAtMs: Float64Array;
}

/** One reply per request of the task, in order: the status and the JSON body to send. */
export interface IngestReply {
  status: number;
  body: string;
  accepted: number;
}

export interface IngestWorkerData {
  kafkaBrokers: string[];
  topic: string;
  sendTimeoutMs: number;
}
