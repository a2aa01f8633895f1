import { createHistogram, decodeHistogram, encodeHistogram, recordMs, type Histogram } from './histogram.ts';

/** What one request (HTTP) or message (WebSocket) came to. */
export interface Outcome {
  ok: boolean;
  /** Error class for the "errors by status and code" table: `503 OVERLOADED`, `timeout`, `net ECONNRESET`, `nack EVENT_INVALID`. */
  key?: string;
  status?: number;
  eventsAcked: number;
  /** From the intended send time to the answer (includes any wait in the generator: no coordinated omission). */
  latencyMs: number;
  /** From the actual send to the answer. */
  serviceMs: number;
}

/** One load thread's counts for one second of one phase; histograms travel encoded. */
export interface IntervalSnapshot {
  phase: number;
  index: number;
  sent: number;
  eventsSent: number;
  ok: number;
  failed: number;
  eventsAcked: number;
  /** Events of failed requests whose fate is unknown (timeouts, lost connections, 5xx): they may still land. */
  ambiguousEvents: number;
  errors: Record<string, number>;
  statuses: Record<string, number>;
  latency: string;
  service: string;
  inFlight: number;
  /** Epoch ms of the interval's last answer (0: none); rates are judged over the time the answers took. */
  lastAnswerAtMs: number;
}

/**
 * A failure after which the events may or may not be in Kafka: no answer (timeout, connection
 * lost) or a server error. 4xx answers and generator-side drops are definite: nothing was produced.
 */
export function isAmbiguous(key: string): boolean {
  if (key.startsWith('dropped') || key === 'ws not connected') return false;
  if (/^4\d\d\b/.test(key)) return false;
  // A nack for a client mistake is definite; one for Kafka trouble is not.
  if (key.startsWith('nack ')) return !/INVALID|MALFORMED|EMPTY|TOO_LARGE|UNSUPPORTED|RATE|AUTH|KEY/.test(key);
  return true;
}

/** The counts an interval, a second, a phase and the run all keep. */
class Counts {
  sent = 0;
  eventsSent = 0;
  ok = 0;
  failed = 0;
  eventsAcked = 0;
  ambiguousEvents = 0;
  /** Epoch ms of the last answer counted here (0: none). */
  lastAnswerAtMs = 0;
  errors: Record<string, number> = {};
  statuses: Record<string, number> = {};
  readonly latency: Histogram = createHistogram();
  readonly service: Histogram = createHistogram();
}

/** Counts of the current interval inside a load thread. */
export class IntervalRecorder extends Counts {

  onSent(events: number): void {
    this.sent++;
    this.eventsSent += events;
  }

  onOutcome(outcome: Outcome, events: number, answeredAtMs = 0): void {
    this.lastAnswerAtMs = Math.max(this.lastAnswerAtMs, answeredAtMs);
    if (outcome.status !== undefined) this.statuses[outcome.status] = (this.statuses[outcome.status] ?? 0) + 1;
    if (outcome.ok) {
      this.ok++;
      this.eventsAcked += outcome.eventsAcked;
      recordMs(this.latency, outcome.latencyMs);
      recordMs(this.service, outcome.serviceMs);
    } else {
      this.failed++;
      const key = outcome.key ?? 'error';
      this.errors[key] = (this.errors[key] ?? 0) + 1;
      if (isAmbiguous(key)) this.ambiguousEvents += events;
    }
  }

  get empty(): boolean {
    return this.sent === 0 && this.ok === 0 && this.failed === 0;
  }

  /** Takes the counts and starts a new interval. */
  take(phase: number, index: number, inFlight: number): IntervalSnapshot {
    const snapshot: IntervalSnapshot = {
      phase,
      index,
      sent: this.sent,
      eventsSent: this.eventsSent,
      ok: this.ok,
      failed: this.failed,
      eventsAcked: this.eventsAcked,
      ambiguousEvents: this.ambiguousEvents,
      errors: this.errors,
      statuses: this.statuses,
      latency: encodeHistogram(this.latency),
      service: encodeHistogram(this.service),
      inFlight,
      lastAnswerAtMs: this.lastAnswerAtMs,
    };
    this.sent = this.eventsSent = this.ok = this.failed = this.eventsAcked = this.ambiguousEvents = this.lastAnswerAtMs = 0;
    this.errors = {};
    this.statuses = {};
    this.latency.reset();
    this.service.reset();
    return snapshot;
  }
}

/** Merged counts (of one second, one phase or the whole run) in the main thread. */
export class Aggregate extends Counts {
  inFlight = 0;

  add(s: IntervalSnapshot, latency: Histogram, service: Histogram): void {
    this.sent += s.sent;
    this.eventsSent += s.eventsSent;
    this.ok += s.ok;
    this.failed += s.failed;
    this.eventsAcked += s.eventsAcked;
    this.ambiguousEvents += s.ambiguousEvents;
    this.lastAnswerAtMs = Math.max(this.lastAnswerAtMs, s.lastAnswerAtMs ?? 0);
    for (const [k, v] of Object.entries(s.errors)) this.errors[k] = (this.errors[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.statuses)) this.statuses[k] = (this.statuses[k] ?? 0) + v;
    this.latency.add(latency);
    this.service.add(service);
  }

  get completed(): number {
    return this.ok + this.failed;
  }

  /** Failed answers over all answers (0 when none). */
  get errorRate(): number {
    return this.completed === 0 ? 0 : this.failed / this.completed;
  }
}

/**
 * Folds load-thread snapshots into the run's timeline (one Aggregate per second), per-phase
 * aggregates and the total. Each snapshot's histograms are decoded once.
 */
export class Collector {
  readonly total = new Aggregate();
  readonly seconds = new Map<number, Aggregate>();
  readonly phases = new Map<number, Aggregate>();
  private readonly inFlightByThread = new Map<number, number>();

  add(thread: number, s: IntervalSnapshot): void {
    const latency = decodeHistogram(s.latency);
    const service = decodeHistogram(s.service);
    const get = (map: Map<number, Aggregate>, key: number) => {
      let a = map.get(key);
      if (!a) map.set(key, (a = new Aggregate()));
      return a;
    };
    this.total.add(s, latency, service);
    get(this.seconds, s.index).add(s, latency, service);
    get(this.phases, s.phase).add(s, latency, service);
    this.inFlightByThread.set(thread, s.inFlight);
    get(this.seconds, s.index).inFlight = [...this.inFlightByThread.values()].reduce((a, b) => a + b, 0);
  }

  get inFlight(): number {
    return [...this.inFlightByThread.values()].reduce((a, b) => a + b, 0);
  }
}
