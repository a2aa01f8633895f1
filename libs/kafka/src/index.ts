export { createKafka, producerConfig } from './client.ts';
export type { KafkaClientOptions } from './client.ts';
export { ensureTopics, pipelineTopics } from './topics.ts';
export type { TopicSpec } from './topics.ts';
export { BatchingProducer, sendOutcomeOf } from './batching-producer.ts';
export type { BatchingProducerOptions, SendFailureDetails, SendOutcome } from './batching-producer.ts';
export { consumerLag, joinOffsets, lagOf, readPartitionOffsets } from './lag.ts';
export type { PartitionLag, PartitionOffsets } from './lag.ts';
