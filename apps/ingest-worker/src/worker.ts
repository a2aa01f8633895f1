/**
 * The piscina worker: one Kafka producer per thread, created on the first task. Runs with piscina's
 * `atomics: 'disabled'` so the producer's sockets keep working between tasks.
 */
import { workerData } from 'node:worker_threads';
import { FloodgateError } from '@floodgate/errors';
import { createLogger } from '@floodgate/logging';
import { BatchingProducer, createKafka, sendOutcomeOf, type SendFailureDetails } from '@floodgate/kafka';
import { setupTracing } from '@floodgate/telemetry/sdk';
import { processBatch } from './process-batch.ts';
import type { IngestResult, IngestTask, IngestWorkerData } from './task.ts';

const settings = workerData as IngestWorkerData;
const logger = createLogger('ingest-worker');
// Each thread has its own SDK (a worker thread shares no globals with its gateway process). The
// threads read the gateway's OTEL_* environment; OTEL_SERVICE_NAME gets `-ingest-worker` appended.
if (settings.telemetry) {
  setupTracing({
    defaultServiceName: 'floodgate-ingest-worker',
    serviceNameFromEnv: (name) => `${name}-ingest-worker`,
    spanStore: settings.telemetry.spanStore,
    flushChannel: settings.telemetry.flushChannel,
    logger,
  });
}
let producer: Promise<BatchingProducer> | undefined;
/** After a failed send, tasks fail fast until then instead of each waiting for the timeout. */
let kafkaDownUntil = 0;
const FAIL_FAST_MS = 1000;

/** A KAFKA_UNAVAILABLE for events that were never handed to Kafka: a retry cannot duplicate them. */
function notWritten(message: string, cause?: unknown): FloodgateError {
  return new FloodgateError('KAFKA_UNAVAILABLE', message, { cause, retriable: true, details: { outcome: 'not_written' } satisfies SendFailureDetails });
}

function getProducer(): Promise<BatchingProducer> {
  producer ??= (async () => {
    const kafka = createKafka({ brokers: settings.kafkaBrokers, clientId: 'floodgate-ingest', logger });
    const p = new BatchingProducer(kafka, { topic: settings.topic, sendTimeoutMs: settings.sendTimeoutMs, compression: settings.compression });
    const connecting = p.connect();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FloodgateError('KAFKA_UNAVAILABLE', `connecting to Kafka took longer than ${settings.sendTimeoutMs} ms`, { retriable: true })), settings.sendTimeoutMs);
    });
    try {
      await Promise.race([connecting, timeout]);
    } catch (error) {
      // kafkajs goes on connecting after our timeout: close whatever it opens, never use it.
      connecting.then(() => p.disconnect(), () => p.disconnect()).catch((e: unknown) => logger.debug({ err: e }, 'abandoned producer did not disconnect cleanly'));
      throw notWritten('Kafka is unavailable: the producer could not connect; nothing was sent', error);
    } finally {
      clearTimeout(timer);
    }
    return p;
  })();
  return producer;
}

/**
 * After a failed send the producer is replaced (it has retired itself: see BatchingProducer): a
 * fresh idempotent producer id starts with clean sequence numbers, and connection state from an
 * outage is not reused. The old one closes once kafkajs settled its last request.
 */
function discardProducer(failed: Promise<BatchingProducer>): void {
  if (producer !== failed) return;
  producer = undefined;
  failed.then((p) => p.disconnect()).catch((error: unknown) => logger.debug({ err: error }, 'discarded producer did not disconnect cleanly'));
}

export default async function ingest(task: IngestTask): Promise<IngestResult> {
  return processBatch(task, settings, async (messages) => {
    if (Date.now() < kafkaDownUntil) throw notWritten('Kafka failed moments ago; nothing was sent, not trying again yet');
    const current = getProducer();
    try {
      return await (await current).send(messages);
    } catch (error) {
      kafkaDownUntil = Date.now() + FAIL_FAST_MS;
      discardProducer(current);
      logger.warn({ err: error, outcome: sendOutcomeOf(error) }, 'kafka send failed; answering 503 and replacing the producer');
      throw error;
    }
  });
}
