import { describe, expect, it } from 'vitest';
import { frameMessage, parseReply, SendWindow } from '../src/targets/ws-window.ts';
import { streamUrl } from '../src/targets/ws.ts';

describe('WebSocket framing', () => {
  it('splices the events array into {"seq", "events"} without re-serialising', () => {
    const events = JSON.stringify([{ type: 'a', data: { run_id: 'r' } }]);
    const text = frameMessage(7, events);
    expect(JSON.parse(text)).toEqual({ seq: 7, events: [{ type: 'a', data: { run_id: 'r' } }] });
  });

  it('reads acks, nacks and anything else', () => {
    expect(parseReply('{"ack":3,"accepted":10,"ids":["a"]}')).toEqual({ kind: 'ack', seq: 3, accepted: 10 });
    expect(parseReply('{"ack":4,"ids":["a","b"]}')).toEqual({ kind: 'ack', seq: 4, accepted: 2 });
    expect(parseReply('{"ack":5}')).toEqual({ kind: 'ack', seq: 5, accepted: undefined });
    expect(parseReply('{"nack":6,"error":{"code":"EVENT_INVALID","message":"bad"}}')).toEqual({ kind: 'nack', seq: 6, code: 'EVENT_INVALID', message: 'bad' });
    expect(parseReply('{"nack":6}')).toEqual({ kind: 'nack', seq: 6, code: 'UNKNOWN', message: '' });
    expect(parseReply('not json')).toEqual({ kind: 'other', text: 'not json' });
    expect(parseReply('{"hello":1}').kind).toBe('other');
  });

  it('turns a gateway URL into the stream URL', () => {
    expect(streamUrl('http://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/v1/stream');
    expect(streamUrl('http://127.0.0.1:8080/v1/events')).toBe('ws://127.0.0.1:8080/v1/stream');
    expect(streamUrl('ws://127.0.0.1:9/custom?api_key=k')).toBe('ws://127.0.0.1:9/custom?api_key=k');
  });
});

describe('send window', () => {
  it('sends up to the window, queues the rest, and releases one per ack in order', () => {
    const w = new SendWindow<string>(2, 10);
    expect(w.offer('a')).toEqual({ action: 'send', seq: 1 });
    expect(w.offer('b')).toEqual({ action: 'send', seq: 2 });
    expect(w.offer('c')).toEqual({ action: 'queued' });
    expect(w.offer('d')).toEqual({ action: 'queued' });
    expect(w.pending).toBe(4);
    expect(w.settle(1)).toEqual({ item: 'a', release: [{ seq: 3, item: 'c' }] });
    // Out-of-order acks are fine.
    expect(w.settle(3)).toEqual({ item: 'c', release: [{ seq: 4, item: 'd' }] });
    expect(w.settle(2)).toEqual({ item: 'b', release: [] });
    expect(w.settle(4)).toEqual({ item: 'd', release: [] });
    expect(w.pending).toBe(0);
  });

  it('ignores an unknown or repeated seq', () => {
    const w = new SendWindow<string>(1, 10);
    w.offer('a');
    expect(w.settle(99)).toEqual({ item: undefined, release: [] });
    expect(w.settle(1).item).toBe('a');
    expect(w.settle(1).item).toBeUndefined();
  });

  it('keeps FIFO order: a new message never overtakes queued ones', () => {
    const w = new SendWindow<string>(1, 10);
    w.offer('a');
    w.offer('b');
    w.settle(1);
    // 'b' now holds the window; 'c' must queue although 'a' left.
    expect(w.offer('c')).toEqual({ action: 'queued' });
    expect(w.settle(2).release).toEqual([{ seq: 3, item: 'c' }]);
  });

  it('drops beyond the queue bound', () => {
    const w = new SendWindow<string>(1, 1);
    w.offer('a');
    expect(w.offer('b')).toEqual({ action: 'queued' });
    expect(w.offer('c')).toEqual({ action: 'dropped' });
  });

  it('hands everything back when the connection goes, in flight first', () => {
    const w = new SendWindow<string>(2, 10);
    for (const x of ['a', 'b', 'c']) w.offer(x);
    expect(w.drain()).toEqual(['a', 'b', 'c']);
    expect(w.pending).toBe(0);
    // Sequence numbers keep growing after a drain.
    expect(w.offer('d')).toEqual({ action: 'send', seq: 3 });
  });

  it('refuses a window below 1', () => {
    expect(() => new SendWindow(0, 1)).toThrow(RangeError);
  });
});
