import { describe, expect, it } from 'vitest';
import { batchKey, memberKeys, sinkControlPlane } from '../src/index.ts';

describe('sink control plane names', () => {
  it('derives buckets, subjects and keys from the prefix', () => {
    const plane = sinkControlPlane('fg_test');
    expect(plane.membersBucket).toBe('fg_test_sink_members');
    expect(plane.batchesBucket).toBe('fg_test_sink_batches');
    expect(plane.processSubject('host.a-12')).toBe('fg_test.sink.process.host=2ea-12');
    expect(plane.supervisorSubject('sup-1')).toBe('fg_test.sink.supervisor.sup-1');
    expect(memberKeys.actor('host-12', 3)).toBe('a.host-12.3');
    expect(batchKey('floodgate-sink', 'events', 5)).toBe('floodgate-sink.events.5');
  });
});
