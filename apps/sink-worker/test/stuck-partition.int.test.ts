import { describe, expect, it } from 'vitest';
import { Partitioners, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import type { ActorRecord, ProcessRecord } from '@floodgate/sink-protocol';
import {
  createTopics,
  deleteTopics,
  exactlyOnce,
  groupLag,
  newEvent,
  runCli,
  scalar,
  sinkEnv,
  toMessage,
  uniqueName,
  useSinkTestBed,
  waitFor,
  type AppProcess,
  type TestEvent,
} from '@floodgate/testkit';
import { DLQ_HEADERS } from '../src/dead-letter.ts';

interface StatusJson {
  processes: Array<ProcessRecord & { actors: ActorRecord[] }>;
}

/** Sends events to one partition, in chunks, acks=all. */
async function sendTo(producer: Producer, topic: string, partition: number, events: readonly TestEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 2000) {
    await producer.send({ topic, acks: -1, messages: events.slice(i, i + 2000).map((e) => ({ ...toMessage(e), partition })) });
  }
}

/** Every message of a topic from the beginning, once at least `expected` arrived and a second passed. */
async function readTopic(kafka: Kafka, topic: string, expected: number): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('it_stuck_dlq_reader'), sessionTimeout: 6000 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
  try {
    await waitFor(() => messages.length >= expected, { timeoutMs: 20_000, intervalMs: 200, description: `${expected} messages on ${topic}` });
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

async function statusJson(env: NodeJS.ProcessEnv): Promise<StatusJson> {
  const { code, stdout, stderr } = await runCli(['status', '--json'], env);
  // 2: read fine, unhealthy (a stuck partition); anything else but 0 is a failure to read.
  if (code !== 0 && code !== 2) throw new Error(`floodgate status failed: ${stderr}`);
  return JSON.parse(stdout) as StatusJson;
}

/**
 * Issue 9, defects 3 and 8 and the "stuck" state of defect 2. Partition 0 holds a poison event
 * whose dead letter cannot be sent (the dead-letter topic was deleted at runtime), so its batch
 * keeps failing; partition 1 holds a backlog far larger than the back-pressure bound.
 */
describe('sink: a partition that keeps failing next to one with a large backlog', () => {
  const bed = useSinkTestBed('stuck');
  const { names } = bed;
  // Back-pressure many times over: 64 KiB buffered per partition, fetches of 64 KiB, 32 KiB batches.
  const extra = {
    SINK_MAX_BUFFERED_BYTES: '65536',
    SINK_FETCH_MAX_BYTES_PER_PARTITION: '65536',
    SINK_FLUSH_MAX_BYTES: '32768',
    SINK_STUCK_AFTER_MS: '2000',
    SINK_STUCK_AFTER_ATTEMPTS: '1000',
    SINK_SHUTDOWN_TIMEOUT_MS: '5000',
  };
  const env = sinkEnv(names, extra);

  it('the backlog drains, the failing partition shows as stuck, a rebalance and a drain complete, nothing is lost', async () => {
    const { kafka, clickhouse, probe } = bed;
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      // Two processes first: a sink that starts creates a missing dead-letter topic.
      const sinks = [await bed.startSink(extra, 'a'), await bed.startSink(extra, 'b')];
      const two = await probe.waitForOwners(2);
      const owner = two.processes.find((p) => p.partitions.includes(0))!;
      const other = two.processes.find((p) => p !== owner)!;
      const backlogPartition = owner.partitions.find((p) => p !== 0);
      if (backlogPartition === undefined) throw new Error(`the owner of partition 0 owns no other partition: ${JSON.stringify(two.processes.map((p) => p.partitions))}`);
      await deleteTopics(kafka, [names.dlqTopic]);
      const admin = kafka.admin();
      await admin.connect();
      await waitFor(async () => !(await admin.listTopics()).includes(names.dlqTopic), { timeoutMs: 20_000, description: 'the dead-letter topic deleted' });
      await admin.disconnect();

      // Partition 0: 20 valid events around a poison one, in one batch; the poison's dead letter cannot be sent.
      const p0 = Array.from({ length: 20 }, (_, i) => newEvent(i));
      const poison = newEvent(-1, { time: 'the day after tomorrow' });
      await sendTo(producer, names.topic, 0, [...p0.slice(0, 10), poison, ...p0.slice(10)]);
      // Another partition of the same process: a backlog of 20,000 events (about 5 MB, 80 times the back-pressure bound).
      const backlog = Array.from({ length: 20_000 }, (_, i) => newEvent(100 + i));
      await sendTo(producer, names.topic, backlogPartition, backlog);

      // Defect 3: the backlog drains completely while partition 0 keeps failing.
      await waitFor(async () => (await groupLag(kafka, names.group, names.topic))[backlogPartition]?.committed === 20_000, {
        timeoutMs: 90_000,
        intervalMs: 500,
        description: `partition ${backlogPartition} committed through its backlog`,
      });
      const rows = await scalar(clickhouse, `SELECT count() FROM ${names.database}.events WHERE kafka_partition = ${backlogPartition}`);
      const distinct = await scalar(clickhouse, `SELECT uniqExact(id) FROM ${names.database}.events WHERE kafka_partition = ${backlogPartition}`);
      expect({ rows, distinct }).toEqual({ rows: 20_000, distinct: 20_000 });

      // The failing batch is an alert-worthy state in `floodgate status` and in /metrics.
      const status = await waitFor(
        async () => {
          const s = await statusJson(env);
          return s.processes.find((p) => p.id === owner.id)?.actors.find((x) => x.partition === 0)?.stuck ? s : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 500, description: 'partition 0 stuck in floodgate status' },
      );
      const actors = status.processes.flatMap((p) => p.actors);
      const stuck = actors.find((x) => x.partition === 0)!;
      expect(stuck.state).toBe('retrying');
      expect(stuck.stuck).toMatchObject({ step: 'dead-letter', code: 'SINK_DLQ_UNAVAILABLE', needsOperator: true });
      expect(stuck.stuck!.attempts).toBeGreaterThan(0);
      expect(Date.now() - Date.parse(stuck.stuck!.since)).toBeGreaterThanOrEqual(2000);
      expect(actors.filter((x) => x.partition !== 0 && x.stuck !== undefined)).toEqual([]);
      const text = await runCli(['status'], env);
      expect(text.stdout).toMatch(/^STUCK: partition 0 of .* for \d+s: dead-letter failing, \d+ attempts, SINK_DLQ_UNAVAILABLE: .*\[never-succeeds: will not pass by itself, needs an operator\]$/m);
      expect(text.code).toBe(2);
      process.stdout.write(`\n$ floodgate status\n${text.stdout}\n`);
      const adminPort = status.processes.find((p) => p.id === owner.id)!.adminPort;
      const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`^floodgate_sink_partition_stuck\\{topic="${names.topic}",partition="0"\\} 1$`, 'm'));
      expect(metrics).toMatch(new RegExp(`^floodgate_sink_partition_stuck\\{topic="${names.topic}",partition="${backlogPartition}"\\} 0$`, 'm'));

      // Defect 8, a rebalance: the other process drains and leaves; the owner of partition 0 must
      // stop its stuck actor to take all six partitions.
      const drainOther = await runCli(['sink', 'drain', '--process', other.id], env);
      expect(drainOther.code, drainOther.stderr).toBe(0);
      await probe.waitForOwners(1, 6, 30_000);
      await waitFor(async () => (await statusJson(env)).processes[0]?.actors.find((x) => x.partition === 0)?.state === 'retrying', {
        timeoutMs: 30_000,
        intervalMs: 500,
        description: 'the new actor of partition 0 retrying its dead letter',
      });

      // Defect 8, a drain of the process with the stuck partition: it ends within its bound and exits 0.
      const victim: AppProcess = sinks.find((app) => app.pid === owner.pid)!;
      const drainStarted = Date.now();
      const drain = runCli(['sink', 'drain', '--process', owner.id], env);
      const exit = await Promise.race([victim.exited, new Promise((r) => setTimeout(() => r('still running after 20 s'), 20_000))]);
      expect(exit).toEqual({ code: 0, signal: null });
      expect((await drain).code).toBe(0);
      process.stdout.write(`drain of a process with a stuck partition took ${Date.now() - drainStarted} ms\n`);
      // Nothing of partition 0 was committed past its one batch, which holds the undelivered dead
      // letter: the committed offset is that batch's first (0; the first batch a group records
      // commits its first offset before the record is written, see docs/sink.md).
      expect((await groupLag(kafka, names.group, names.topic))[0]?.committed).toBe(0);

      // The dead-letter topic comes back: a new process finishes partition 0.
      await createTopics(kafka, [names.dlqTopic]);
      await bed.startSink(extra, 'c');
      await waitFor(async () => (await groupLag(kafka, names.group, names.topic)).every((p) => p.lag === 0 && (p.end === 0 || p.committed === p.end)), {
        timeoutMs: 60_000,
        intervalMs: 500,
        description: 'every event of the topic committed',
      });
      const valid = [...p0, ...backlog].map((e) => e.id);
      expect(await exactlyOnce(clickhouse, names.database, valid)).toEqual({ rows: 20_020, distinct: 20_020, missing: 0, extra: 0 });
      // At least once (docs/sink.md): every copy on the dead-letter topic is the poison event.
      const letters = await readTopic(kafka, names.dlqTopic, 1);
      expect(new Set(letters.map((m) => m.value?.toString()))).toEqual(new Set([JSON.stringify(poison)]));
      expect(new Set(letters.map((m) => m.headers?.[DLQ_HEADERS.code]?.toString()))).toEqual(new Set(['41 CANNOT_PARSE_DATETIME']));
      await waitFor(async () => (await statusJson(env)).processes.every((p) => p.actors.every((x) => x.stuck === undefined)), {
        timeoutMs: 10_000,
        intervalMs: 500,
        description: 'no partition stuck any more',
      });
    } finally {
      await producer.disconnect();
    }
  });
});
