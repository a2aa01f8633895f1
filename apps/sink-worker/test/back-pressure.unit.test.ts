import { describe, expect, it } from 'vitest';
import { BackPressure } from '../src/back-pressure.ts';

function pressure(max = 1000) {
  const changes: boolean[] = [];
  const bp = new BackPressure(max, (paused) => changes.push(paused));
  return { bp, changes };
}

describe('BackPressure', () => {
  it('pauses when queued plus buffered reaches the bound and resumes below half of it', () => {
    const { bp, changes } = pressure();
    bp.queued(600);
    bp.buffered(300);
    expect(changes).toEqual([]);
    bp.queued(100);
    expect(changes).toEqual([true]);
    bp.taken(700, 1000); // the actor took the records into its buffer
    expect(changes).toEqual([true]);
    bp.buffered(501); // a batch was inserted, but not enough of it
    expect(changes).toEqual([true]);
    bp.buffered(499);
    expect(changes).toEqual([true, false]);
    expect(bp.pending).toBe(499);
  });

  it('leaks nothing when an idle actor takes the records inside the hand-over (counted first, taken second)', () => {
    const { bp, changes } = pressure();
    for (let i = 0; i < 1000; i++) {
      bp.queued(400); // the consumer counts the records...
      bp.taken(400, 400); // ...and the idle actor takes them into its buffer at once, inside `tell`
      bp.buffered(0); // and inserts them
    }
    expect(bp.pending).toBe(0);
    expect(changes).toEqual([]);
  });

  it('resumes when the buffer shrinks, with nothing more handed to the actor', () => {
    const { bp, changes } = pressure();
    bp.queued(1200);
    bp.taken(1200, 1200);
    expect(bp.isPaused).toBe(true);
    // No message reaches the actor while paused: the flush alone must release the partition.
    bp.buffered(0);
    expect(bp.isPaused).toBe(false);
    expect(changes).toEqual([true, false]);
  });

  it('a refused hand-over no longer counts', () => {
    const { bp, changes } = pressure();
    bp.queued(1500);
    bp.taken(1500);
    expect(bp.pending).toBe(0);
    expect(changes).toEqual([true, false]);
  });

  it('reset (a new actor incarnation) releases a pause', () => {
    const { bp, changes } = pressure();
    bp.queued(5000);
    bp.reset();
    expect(bp.pending).toBe(0);
    expect(changes).toEqual([true, false]);
  });
});
