/**
 * The piscina worker: one Kafka producer per thread, created on the first task. Runs with piscina's
 * `atomics: 'disabled'` so the producer's sockets keep working between tasks.
 */
import { workerData } from 'node:worker_threads';
import { createLogger } from '@floodgate/logging';
import { BatchingProducer, createKafka } from '@floodgate/kafka';
import { processBatch } from './process-batch.ts';
import type { IngestReply, IngestTask, IngestWorkerData } from './task.ts';

const settings = workerData as IngestWorkerData;
const logger = createLogger('ingest-worker');
let producer: Promise<BatchingProducer> | undefined;

function getProducer(): Promise<BatchingProducer> {
  producer ??= (async () => {
    const kafka = createKafka({ brokers: settings.kafkaBrokers, clientId: 'floodgate-ingest', logger });
    const p = new BatchingProducer(kafka, { topic: settings.topic, sendTimeoutMs: settings.sendTimeoutMs });
    await p.connect();
    return p;
  })().catch((error: unknown) => {
    producer = undefined; // the next task tries again
    throw error;
  });
  return producer;
}

export default async function ingest(task: IngestTask): Promise<IngestReply[]> {
  return processBatch(task, async (messages) => (await getProducer()).send(messages));
}
