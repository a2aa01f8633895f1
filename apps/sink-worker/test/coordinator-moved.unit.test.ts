import { describe, expect, it } from 'vitest';
import { coordinatorMoved } from '../src/sink.ts';

/** kafkajs' shapes: a protocol error with its `type`, wrapped by the retrier as `cause`. */
const protocolError = (type: string, message: string) => Object.assign(new Error(message), { name: 'KafkaJSProtocolError', type });
const retriesExceeded = (cause: Error) => Object.assign(new Error(`${cause.message}: ${cause.message}`), { name: 'KafkaJSNumberOfRetriesExceeded', cause });

describe('a commit refused because the group coordinator moved', () => {
  it('is recognised however kafkajs wrapped it (as seen in the chaos suite, fault 3), and other failures are not', () => {
    const notCoordinator = protocolError('NOT_COORDINATOR_FOR_GROUP', 'This is not the correct coordinator for this group');
    expect(coordinatorMoved(notCoordinator)).toBe(true);
    expect(coordinatorMoved(retriesExceeded(notCoordinator))).toBe(true);
    const brokerGone = Object.assign(new Error('Broker 3 not found in the cached metadata'), { name: 'KafkaJSBrokerNotFound' });
    expect(coordinatorMoved(retriesExceeded(brokerGone))).toBe(true);
    expect(coordinatorMoved(retriesExceeded(protocolError('REBALANCE_IN_PROGRESS', 'The group is rebalancing')))).toBe(false);
    expect(coordinatorMoved(new Error('timeout'))).toBe(false);
  });
});
