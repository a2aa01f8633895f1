import { describe, expect, it } from 'vitest';
import { waitFor } from '@floodgate/testkit';
import { ActorStoppedError, Mailbox, RestartTracker, ActorSupervisor, backoffDelay, sleep, type ActorSupervisorEvent } from '../src/index.ts';

const quickPolicy = { maxRestarts: 3, withinMs: 10_000, backoff: { initialMs: 1, maxMs: 5, jitter: 'none' as const } };

describe('backoffDelay', () => {
  it('grows exponentially up to the ceiling without jitter', () => {
    const options = { initialMs: 100, maxMs: 1000, jitter: 'none' as const };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(options, a))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('full jitter stays within [0, ceiling], equal jitter within [ceiling/2, ceiling]', () => {
    const full = { initialMs: 100, maxMs: 10_000 };
    expect(backoffDelay(full, 3, () => 0)).toBe(0);
    expect(backoffDelay(full, 3, () => 0.999999)).toBe(800);
    expect(backoffDelay(full, 3, () => 0.5)).toBe(400);
    const equal = { initialMs: 100, maxMs: 10_000, jitter: 'equal' as const };
    expect(backoffDelay(equal, 2, () => 0)).toBe(200);
    expect(backoffDelay(equal, 2, () => 0.999999)).toBe(400);
  });

  it('honours a custom multiplier and never overflows on huge attempts', () => {
    expect(backoffDelay({ initialMs: 10, maxMs: 1e9, multiplier: 3, jitter: 'none' }, 2)).toBe(90);
    expect(backoffDelay({ initialMs: 10, maxMs: 5000, jitter: 'none' }, 1e6)).toBe(5000);
  });
});

describe('sleep', () => {
  it('rejects with the abort reason as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = sleep(10_000, controller.signal);
    controller.abort(new Error('stop now'));
    await expect(pending).rejects.toThrow('stop now');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('RestartTracker', () => {
  it('restarts with growing delays, then gives up after maxRestarts within the window', () => {
    let now = 0;
    const tracker = new RestartTracker({ maxRestarts: 3, withinMs: 60_000, backoff: { initialMs: 100, maxMs: 1000, jitter: 'none' } }, () => now);
    const decisions = [];
    for (let i = 0; i < 4; i++) {
      now += 10;
      decisions.push(tracker.failed());
    }
    expect(decisions).toEqual([
      { restart: true, delayMs: 100, attempt: 0 },
      { restart: true, delayMs: 200, attempt: 1 },
      { restart: true, delayMs: 400, attempt: 2 },
      { restart: false, failures: 4 },
    ]);
  });

  it('forgets failures older than the window and starts the backoff over after a long uptime', () => {
    let now = 0;
    const tracker = new RestartTracker({ maxRestarts: 1, withinMs: 1000, backoff: { initialMs: 100, maxMs: 1000, jitter: 'none' } }, () => now);
    expect(tracker.failed()).toEqual({ restart: true, delayMs: 100, attempt: 0 });
    now = 5000;
    tracker.started();
    now = 7000;
    expect(tracker.failed()).toEqual({ restart: true, delayMs: 100, attempt: 0 });
  });
});

describe('Mailbox', () => {
  it('is FIFO across compactions', () => {
    const box = new Mailbox<number>();
    for (let i = 0; i < 5000; i++) box.push(i);
    const out: number[] = [];
    for (let i = 0; i < 3000; i++) out.push(box.shift()!);
    for (let i = 5000; i < 6000; i++) box.push(i);
    while (box.size > 0) out.push(box.shift()!);
    expect(out).toEqual(Array.from({ length: 6000 }, (_, i) => i));
    expect(box.shift()).toBeUndefined();
  });
});

describe('Supervisor and actors', () => {
  it('handles messages one at a time, in order, awaiting async receive', async () => {
    const supervisor = new ActorSupervisor({ policy: quickPolicy });
    const seen: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const ref = supervisor.spawn<string>('ordered', () => ({
      async receive(message) {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, message === 'a' ? 20 : 1));
        seen.push(message);
        inFlight--;
      },
    }));
    for (const m of ['a', 'b', 'c', 'd']) expect(ref.tell(m)).toBe(true);
    expect(ref.mailboxSize).toBeGreaterThan(0);
    // Waits for the fourth message rather than a fixed time: on a loaded machine 80 ms was not always enough.
    await waitFor(() => seen.length === 4, { timeoutMs: 10_000, intervalMs: 5, description: 'the four messages handled' });
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect(maxInFlight).toBe(1);
    await supervisor.stopAll();
  });

  it('answers ask, and rejects ask to a stopped actor', async () => {
    const supervisor = new ActorSupervisor({ policy: quickPolicy });
    type Msg = { n: number; reply: (v: number) => void };
    const ref = supervisor.spawn<Msg>('doubler', () => ({ receive: (m) => m.reply(m.n * 2) }));
    await expect(ref.ask<number>((reply) => ({ n: 21, reply }))).resolves.toBe(42);
    await ref.stop();
    await expect(ref.ask<number>((reply) => ({ n: 1, reply }))).rejects.toBeInstanceOf(ActorStoppedError);
    expect(ref.tell({ n: 1, reply: () => {} })).toBe(false);
  });

  it('restarts a failing actor with a fresh behaviour, keeping the rest of its mailbox', async () => {
    const events: ActorSupervisorEvent[] = [];
    const supervisor = new ActorSupervisor({ policy: quickPolicy, onEvent: (e) => events.push(e) });
    const handled: Array<{ message: string; incarnation: number }> = [];
    const stops: string[] = [];
    const ref = supervisor.spawn<string>('flaky', (ctx) => {
      let count = 0; // fresh per incarnation
      return {
        receive(message) {
          count++;
          if (message === 'boom') throw new Error('boom');
          handled.push({ message: `${message}#${count}`, incarnation: ctx.incarnation });
        },
        stopped(reason) {
          stops.push(reason.kind);
        },
      };
    });
    ref.tell('one');
    ref.tell('boom');
    ref.tell('two');
    await new Promise((r) => setTimeout(r, 50));
    expect(handled).toEqual([
      { message: 'one#1', incarnation: 0 },
      { message: 'two#1', incarnation: 1 },
    ]);
    expect(ref.restarts).toBe(1);
    expect(events.map((e) => e.type)).toEqual(['failed', 'restarting']);
    expect(stops).toEqual(['restarting']);
    await ref.stop();
    expect(stops).toEqual(['restarting', 'stopped']);
  });

  it('gives up after maxRestarts and reports it (the escalation point)', async () => {
    const events: ActorSupervisorEvent[] = [];
    const supervisor = new ActorSupervisor({
      policy: { maxRestarts: 2, withinMs: 10_000, backoff: { initialMs: 1, maxMs: 1, jitter: 'none' } },
      onEvent: (e) => events.push(e),
    });
    const ref = supervisor.spawn<string>('doomed', () => ({
      started() {
        throw new Error('cannot start');
      },
      receive() {},
    }));
    const exit = await ref.done;
    expect(exit.status).toBe('failed');
    expect((exit.error as Error).message).toBe('cannot start');
    expect(events.filter((e) => e.type === 'failed')).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ type: 'gave-up', actor: 'doomed', failures: 3 });
    expect(supervisor.children()).toHaveLength(0);
  });

  it('stop aborts the signal, lets the message in hand finish, and drops the rest', async () => {
    const supervisor = new ActorSupervisor({ policy: quickPolicy });
    let aborted = false;
    const finished: string[] = [];
    const ref = supervisor.spawn<string>('slow', (ctx) => ({
      async receive(message) {
        await sleep(5_000, ctx.signal).catch(() => {
          aborted = true;
        });
        finished.push(message);
      },
    }));
    ref.tell('first');
    ref.tell('second');
    ref.tell('third');
    await new Promise((r) => setTimeout(r, 10));
    const exit = await ref.stop();
    expect(aborted).toBe(true);
    expect(finished).toEqual(['first']);
    expect(exit).toEqual({ status: 'stopped', undelivered: 2 });
  });

  it('can stop itself from inside receive without deadlocking', async () => {
    const supervisor = new ActorSupervisor({ policy: quickPolicy });
    const ref = supervisor.spawn<string>('self-stopper', (ctx) => ({
      receive(message) {
        if (message === 'quit') void ctx.self.stop();
      },
    }));
    ref.tell('quit');
    ref.tell('ignored');
    await expect(ref.done).resolves.toEqual({ status: 'stopped', undelivered: 1 });
  });

  it('refuses messages beyond the mailbox capacity', async () => {
    const supervisor = new ActorSupervisor({ policy: quickPolicy });
    const ref = supervisor.spawn<number>('bounded', (ctx) => ({ receive: () => sleep(1000, ctx.signal).catch(() => {}) }), { mailboxCapacity: 2 });
    await new Promise((r) => setTimeout(r, 5));
    expect([ref.tell(1), ref.tell(2), ref.tell(3), ref.tell(4)]).toEqual([true, true, true, false]);
    await supervisor.stopAll();
  });

  it('refuses a second child of the same name while the first runs', () => {
    const supervisor = new ActorSupervisor({ policy: quickPolicy });
    supervisor.spawn('x', () => ({ receive() {} }));
    expect(() => supervisor.spawn('x', () => ({ receive() {} }))).toThrow(/already running/);
    return supervisor.stopAll();
  });
});
