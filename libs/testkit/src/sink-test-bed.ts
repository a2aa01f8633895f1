/**
 * The set-up and teardown every sink integration test shares: per-test names, the Kafka topics
 * (events and dead letters), a ClickHouse client, a NATS control-plane probe, a connected event
 * producer, and the sink processes the test starts, all stopped and removed again after the tests.
 */
import { AssertionError } from 'node:assert';
import { afterAll, beforeAll } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import type { StackConfig } from '@floodgate/config';
import {
  ControlPlaneProbe,
  EventProducer,
  createTopics,
  deleteTopics,
  launchSink,
  startSink,
  startSupervisor,
  testClickHouse,
  testKafka,
  testNames,
  waitForLagZero,
  waitForRows,
  type AppProcess,
  type TestNames,
} from './harness.ts';
import { stackConfigForTests } from './stack.ts';

export interface SinkTestBedOptions {
  /** Partitions of the test's topics (default 6, as the sink is configured by sinkEnv). */
  partitions?: number;
  /** URL of the ClickHouse the test queries, read when the bed is set up (default: the shared stack's). */
  clickhouseUrl?: () => string;
  /** Drop the test's database at teardown (default true; off for a private ClickHouse that goes away anyway). */
  dropDatabase?: boolean;
}

export interface LandedTimeouts {
  lagMs?: number;
  rowsMs?: number;
}

function ready<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new AssertionError({ message: `sink test bed: ${what} is not set up yet (use it inside a test or a later hook)` });
  return value;
}

/** What one describe block's tests share; see useSinkTestBed. */
export class SinkTestBed {
  readonly stack: StackConfig = stackConfigForTests();
  readonly names: TestNames;
  private kafkaClient: Kafka | undefined;
  private clickhouseClient: ClickHouseClient | undefined;
  private probeConnection: ControlPlaneProbe | undefined;
  private eventProducer: EventProducer | undefined;
  private readonly started: AppProcess[] = [];

  constructor(
    label: string,
    private readonly options: SinkTestBedOptions = {},
  ) {
    this.names = testNames(label);
  }

  get kafka(): Kafka {
    return ready(this.kafkaClient, 'kafka');
  }

  get clickhouse(): ClickHouseClient {
    return ready(this.clickhouseClient, 'clickhouse');
  }

  get probe(): ControlPlaneProbe {
    return ready(this.probeConnection, 'probe');
  }

  get producer(): EventProducer {
    return ready(this.eventProducer, 'producer');
  }

  /** Creates the topics, opens ClickHouse and the control-plane probe, connects the producer. */
  async setUp(): Promise<void> {
    const { stack, names } = this;
    this.kafkaClient = testKafka(stack);
    await createTopics(this.kafkaClient, [names.topic, names.dlqTopic], this.options.partitions);
    this.clickhouseClient = this.options.clickhouseUrl ? testClickHouse(stack, this.options.clickhouseUrl()) : testClickHouse(stack);
    this.probeConnection = await ControlPlaneProbe.open(stack, names);
    this.eventProducer = new EventProducer(this.kafkaClient, names.topic);
    await this.eventProducer.connect();
  }

  /** Disconnects the producer, stops the started processes, removes the NATS buckets, the database and the topics. */
  async tearDown(): Promise<void> {
    const { names } = this;
    await this.eventProducer?.disconnect().catch(() => {});
    await Promise.all(this.started.map((app) => app.stop()));
    await this.probeConnection?.close().catch(() => {});
    if (this.options.dropDatabase ?? true) await this.clickhouseClient?.command({ query: `DROP DATABASE IF EXISTS ${names.database}` }).catch(() => {});
    await this.clickhouseClient?.close();
    if (this.kafkaClient) await deleteTopics(this.kafkaClient, [names.topic, names.dlqTopic]);
  }

  /** Starts one sink process on the test's names (stopped at teardown), resolved once it consumes. */
  async startSink(extra: NodeJS.ProcessEnv = {}, tag?: string): Promise<AppProcess> {
    return this.keep(await startSink(this.names, extra, tag));
  }

  /** Spawns one sink process on the test's names (stopped at teardown) without waiting for it to consume. */
  launchSink(extra: NodeJS.ProcessEnv = {}, tag?: string): AppProcess {
    return this.keep(launchSink(this.names, extra, tag));
  }

  /** Starts the sink supervisor on the test's names (stopped at teardown), resolved once it runs. */
  async startSupervisor(processes: number, extra: NodeJS.ProcessEnv = {}): Promise<AppProcess> {
    return this.keep(await startSupervisor(this.names, processes, extra));
  }

  /**
   * Stops the producer's steady load, then waits until the consumer lag is 0 on every partition and
   * the table holds at least as many rows as events were produced. Returns the produced ids.
   */
  async stopLoadAndWaitUntilLanded(timeouts: LandedTimeouts = {}): Promise<string[]> {
    await this.producer.stopSteady();
    const produced = this.producer.ids;
    await waitForLagZero(this.kafka, this.names, timeouts.lagMs);
    await waitForRows(this.clickhouse, this.names.database, produced.length, timeouts.rowsMs);
    return produced;
  }

  private keep(app: AppProcess): AppProcess {
    this.started.push(app);
    return app;
  }
}

/**
 * Registers beforeAll / afterAll hooks in the calling describe block that set up a SinkTestBed for
 * `label` and tear it down again. Its names and stack are there at once; kafka, clickhouse, probe and
 * producer once the beforeAll hook has run (hooks registered after this call see them).
 */
export function useSinkTestBed(label: string, options: SinkTestBedOptions = {}): SinkTestBed {
  const bed = new SinkTestBed(label, options);
  beforeAll(() => bed.setUp());
  afterAll(() => bed.tearDown());
  return bed;
}
