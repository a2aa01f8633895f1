import { describe, expect, it } from 'vitest';
import { keyToken } from '../src/index.ts';

describe('keyToken', () => {
  it('keeps plain names and encodes everything else reversibly-distinct', () => {
    expect(keyToken('floodgate-sink_1')).toBe('floodgate-sink_1');
    expect(keyToken('events.dlq')).toBe('events=2edlq');
    expect(keyToken('a b*>')).toBe('a=20b=2a=3e');
    expect(keyToken('')).toBe('=');
    expect(keyToken('a.b')).not.toBe(keyToken('a_b'));
    for (const raw of ['x.y', 'x y', 'é', 'k=1']) expect(keyToken(raw)).toMatch(/^[A-Za-z0-9_=-]+$/);
  });
});
