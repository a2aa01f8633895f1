import type { KafkaMessage } from 'kafkajs';
import type { NormalisedEvent } from '@floodgate/event-model';
import type { EventRow } from '@floodgate/clickhouse';

/** Turns one Kafka message (a normalised event) into an events-table row. */
export function toEventRow(message: KafkaMessage, partition: number): EventRow {
  const event = JSON.parse(message.value?.toString('utf8') ?? 'null') as NormalisedEvent;
  return {
    id: event.id,
    tenant: event.tenant,
    type: event.type,
    source: event.source,
    subject: event.subject,
    time: event.time,
    received_at: event.received_at,
    data: JSON.stringify(event.data),
    trace_id: '',
    kafka_partition: partition,
    kafka_offset: message.offset,
  };
}
