import { sleep } from './backoff.ts';
import { Mailbox } from './mailbox.ts';
import { RestartTracker, type RestartPolicyOptions } from './restart-policy.ts';
import { FloodgateError } from '@floodgate/errors';

/** What an actor's behaviour sees of itself. */
export interface ActorContext<M> {
  readonly name: string;
  readonly self: ActorRef<M>;
  /**
   * Aborted when this incarnation ends: on stop, and before a restart. Pass it to every long
   * operation (I/O, sleeps) so a stop or restart does not wait for them.
   */
  readonly signal: AbortSignal;
  /** 0 for the first start, then one more per restart. */
  readonly incarnation: number;
}

/** Why an incarnation ended. */
export type StopReason =
  | { kind: 'stopped' }
  | { kind: 'restarting'; error: unknown }
  | { kind: 'failed'; error: unknown };

/**
 * An actor's behaviour: one instance per incarnation (a restart builds a fresh one, so no state
 * survives a failure). Messages are handled one at a time, in order; an asynchronous `receive`
 * is awaited before the next message is taken.
 */
export interface Behavior<M> {
  /** Runs before the first message of an incarnation. A throw counts as a failure. */
  started?(): void | Promise<void>;
  receive(message: M): void | Promise<void>;
  /** Runs once when the incarnation ends (stop, restart or giving up). Errors here are ignored. */
  stopped?(reason: StopReason): void | Promise<void>;
}

export type ActorFactory<M> = (context: ActorContext<M>) => Behavior<M>;

export type ActorStatus = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed';

export interface ActorExit {
  status: 'stopped' | 'failed';
  /** The last failure when the supervisor gave up. */
  error?: unknown;
  /** Messages still in the mailbox when the actor ended; they were not handled. */
  undelivered: number;
}

export interface ActorRef<M> {
  readonly name: string;
  readonly status: ActorStatus;
  readonly mailboxSize: number;
  readonly restarts: number;
  /** Queues a message. False when the actor has ended or its mailbox is full (nothing queued). */
  tell(message: M): boolean;
  /**
   * Request/response: `make` builds the message around a reply callback; the promise settles with
   * the reply, or rejects when the actor cannot take the message, fails, or `timeoutMs` passes.
   */
  ask<R>(make: (reply: (value: R) => void, fail: (error: unknown) => void) => M, timeoutMs?: number): Promise<R>;
  /**
   * Ends the actor: aborts its signal, lets the message in hand finish, runs `stopped`, drops the
   * rest of the mailbox. Safe to call from inside `receive` (it then completes after it returns).
   */
  stop(): Promise<ActorExit>;
  /** Settles when the actor has ended, for whatever reason. */
  readonly done: Promise<ActorExit>;
}

export class ActorStoppedError extends Error {
  constructor(name: string) {
    super(`actor ${name} stopped`);
    this.name = 'ActorStoppedError';
  }
}

export type ActorSupervisorEvent =
  | { type: 'failed'; actor: string; incarnation: number; error: unknown }
  | { type: 'restarting'; actor: string; attempt: number; delayMs: number }
  | { type: 'gave-up'; actor: string; failures: number; error: unknown };

export interface ActorSupervisorOptions {
  /** Restart policy of every child unless `spawn` names its own. */
  policy: RestartPolicyOptions;
  /** Failures, restarts and give-ups, for logs and metrics. A give-up is the escalation point. */
  onEvent?: (event: ActorSupervisorEvent) => void;
  now?: () => number;
  random?: () => number;
}

export interface SpawnOptions {
  /** Most messages waiting; beyond it `tell` returns false. Default unbounded. */
  mailboxCapacity?: number;
  policy?: RestartPolicyOptions;
}

class ActorCell<M> implements ActorRef<M> {
  readonly name: string;
  readonly done: Promise<ActorExit>;
  private resolveDone!: (exit: ActorExit) => void;
  private readonly mailbox = new Mailbox<M>();
  private readonly capacity: number;
  private readonly tracker: RestartTracker;
  private state: ActorStatus = 'starting';
  private behavior: Behavior<M> | undefined;
  private controller = new AbortController();
  /** Aborted by stop(), to cut a restart delay short. */
  private readonly lifetime = new AbortController();
  private busy = false;
  private incarnation = -1;
  private restartCount = 0;
  private stoppedCalled = false;
  private finished = false;

  constructor(
    name: string,
    private readonly factory: ActorFactory<M>,
    private readonly supervisor: { onEvent: (event: ActorSupervisorEvent) => void; onEnded: (cell: ActorCell<any>) => void },
    policy: RestartPolicyOptions,
    options: SpawnOptions,
    now: () => number,
    random: () => number,
  ) {
    this.name = name;
    this.capacity = options.mailboxCapacity ?? Number.POSITIVE_INFINITY;
    this.tracker = new RestartTracker(policy, now, random);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    void this.startIncarnation();
  }

  get status(): ActorStatus {
    return this.state;
  }

  get mailboxSize(): number {
    return this.mailbox.size;
  }

  get restarts(): number {
    return this.restartCount;
  }

  tell(message: M): boolean {
    if (this.state === 'stopping' || this.state === 'stopped' || this.state === 'failed') return false;
    if (this.mailbox.size >= this.capacity) return false;
    this.mailbox.push(message);
    if (!this.busy && this.state === 'running') void this.pump();
    return true;
  }

  ask<R>(make: (reply: (value: R) => void, fail: (error: unknown) => void) => M, timeoutMs = 30_000): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => settle(() => reject(new FloodgateError('ACTOR_NO_REPLY', `actor ${this.name} did not answer within ${timeoutMs} ms`, { retriable: true }))), timeoutMs);
      timer.unref?.();
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const message = make(
        (value) => settle(() => resolve(value)),
        (error) => settle(() => reject(error)),
      );
      if (!this.tell(message)) settle(() => reject(new ActorStoppedError(this.name)));
      // An actor that ends before answering must not leave the caller waiting for the timeout.
      void this.done.then(() => settle(() => reject(new ActorStoppedError(this.name))));
    });
  }

  stop(): Promise<ActorExit> {
    if (this.state === 'stopped' || this.state === 'failed' || this.state === 'stopping') return this.done;
    this.state = 'stopping';
    this.controller.abort(new ActorStoppedError(this.name));
    this.lifetime.abort(new ActorStoppedError(this.name));
    if (!this.busy) void this.finish('stopped');
    return this.done;
  }

  private context(): ActorContext<M> {
    const self = this;
    const signal = this.controller.signal;
    const incarnation = this.incarnation;
    return {
      name: this.name,
      self,
      signal,
      incarnation,
    };
  }

  private async startIncarnation(): Promise<void> {
    this.incarnation++;
    this.controller = new AbortController();
    this.stoppedCalled = false;
    this.tracker.started();
    this.busy = true;
    try {
      this.behavior = this.factory(this.context());
      await this.behavior.started?.();
    } catch (error) {
      this.busy = false;
      if (this.state === 'stopping') return this.finish('stopped');
      return this.fail(error);
    }
    this.busy = false;
    if (this.state === 'stopping') return this.finish('stopped');
    this.state = 'running';
    if (this.mailbox.size > 0) void this.pump();
  }

  private async pump(): Promise<void> {
    this.busy = true;
    while (this.state === 'running') {
      if (this.mailbox.size === 0) break;
      const message = this.mailbox.shift() as M;
      try {
        await this.behavior!.receive(message);
      } catch (error) {
        this.busy = false;
        if ((this.state as ActorStatus) === 'stopping') return this.finish('stopped');
        return this.fail(error);
      }
    }
    this.busy = false;
    if (this.state === 'stopping') await this.finish('stopped');
  }

  private async callStopped(reason: StopReason): Promise<void> {
    if (this.stoppedCalled || !this.behavior) return;
    this.stoppedCalled = true;
    try {
      await this.behavior.stopped?.(reason);
    } catch {
      // a failing clean-up must not hide the original outcome
    }
  }

  private async fail(error: unknown): Promise<void> {
    this.state = 'restarting';
    this.supervisor.onEvent({ type: 'failed', actor: this.name, incarnation: this.incarnation, error });
    this.controller.abort(error);
    const decision = this.tracker.failed();
    await this.callStopped(decision.restart ? { kind: 'restarting', error } : { kind: 'failed', error });
    if (!decision.restart) {
      this.supervisor.onEvent({ type: 'gave-up', actor: this.name, failures: decision.failures, error });
      return this.finish('failed', error);
    }
    this.supervisor.onEvent({ type: 'restarting', actor: this.name, attempt: decision.attempt, delayMs: decision.delayMs });
    try {
      await sleep(decision.delayMs, this.lifetime.signal);
    } catch {
      return this.finish('stopped');
    }
    if ((this.state as ActorStatus) === 'stopping') return this.finish('stopped');
    this.restartCount++;
    this.state = 'starting';
    await this.startIncarnation();
  }

  private async finish(status: 'stopped' | 'failed', error?: unknown): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.state = status === 'failed' ? 'failed' : 'stopping';
    await this.callStopped({ kind: 'stopped' });
    this.state = status;
    const undelivered = this.mailbox.clear().length;
    this.supervisor.onEnded(this);
    this.resolveDone(error === undefined ? { status, undelivered } : { status, error, undelivered });
  }
}

/**
 * Owns a set of named actors and restarts them by its policy when they fail (one-for-one). When
 * a child fails too often it is given up (its `done` settles with status `failed`) and `onEvent`
 * reports `gave-up`: the owner escalates from there (the sink process exits and its own
 * supervisor restarts the process).
 */
export class ActorSupervisor {
  private readonly cells = new Map<string, ActorCell<any>>();
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: ActorSupervisorOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  spawn<M>(name: string, factory: ActorFactory<M>, options: SpawnOptions = {}): ActorRef<M> {
    if (this.cells.has(name)) throw new FloodgateError('INTERNAL', `an actor named ${name} is already running`);
    const cell: ActorCell<M> = new ActorCell<M>(
      name,
      factory,
      {
        onEvent: (event) => this.options.onEvent?.(event),
        onEnded: (ended) => {
          if (this.cells.get(name) === ended) this.cells.delete(name);
        },
      },
      options.policy ?? this.options.policy,
      options,
      this.now,
      this.random,
    );
    this.cells.set(name, cell);
    return cell;
  }

  get<M>(name: string): ActorRef<M> | undefined {
    return this.cells.get(name);
  }

  children(): ActorRef<unknown>[] {
    return [...this.cells.values()];
  }

  /** Stops every child, concurrently, and waits for all of them. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.cells.values()].map((cell) => cell.stop()));
  }
}
