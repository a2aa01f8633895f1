/**
 * Sink throughput and delivery delay on the local stack. Two measurements:
 *
 *   backlog: N events are produced to a fresh 6-partition topic first, then P sink processes start;
 *            reported: events/s from "sink consuming" until the group's lag is 0 and the table
 *            holds all N, and CPU seconds the sink processes used.
 *   steady:  events are produced at R/s for S seconds while the sink runs; reported: the
 *            accept-to-insert delay (inserted_at - received_at) by percentile.
 *
 *   node --import tsx apps/sink-worker/test/bench-sink.ts [--events 300000] [--processes 1] [--rate 5000] [--seconds 20] [--subject S]
 *
 * --subject gives every event of the backlog that subject: one Kafka key, so one hot partition
 * (the other five stay empty) instead of events spread over all six.
 *
 * Extra SINK_* variables in the environment are passed to the sink (e.g. SINK_FLUSH_MAX_ROWS).
 * Everything runs on this machine: load generator, Kafka, NATS, chdb-server and the sink share its cores.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ControlPlaneProbe,
  createTopics,
  deleteTopics,
  EventProducer,
  groupLag,
  scalar,
  stackConfigForTests,
  startSink,
  tableTotals,
  testClickHouse,
  testKafka,
  testNames,
  waitFor,
  type AppProcess,
} from '@floodgate/testkit';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '300000' },
    processes: { type: 'string', default: '1' },
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '20' },
    subject: { type: 'string' },
  },
});
const events = Number(values.events);
const processes = Number(values.processes);
const rate = Number(values.rate);
const seconds = Number(values.seconds);

const stack = stackConfigForTests();
const kafka = testKafka(stack);
const clickhouse = testClickHouse(stack);

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

// The product's flush age (the tests' harness uses a shorter one) unless the environment says otherwise.
const sinkExtra: NodeJS.ProcessEnv = {
  SINK_FLUSH_MAX_AGE_MS: '1000',
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('SINK_') && k !== 'SINK_PROCESS_ID')),
};

async function backlog(): Promise<void> {
  const names = testNames('bench_backlog');
  await createTopics(kafka, [names.topic, names.dlqTopic]);
  const producer = new EventProducer(kafka, names.topic);
  await producer.connect();
  const produceStart = performance.now();
  const overrides = values.subject ? { subject: values.subject } : {};
  for (let sent = 0; sent < events; sent += 10_000) await producer.send(Math.min(10_000, events - sent), overrides);
  const produceSecs = (performance.now() - produceStart) / 1000;
  await producer.disconnect();
  const spread = values.subject ? `all with subject ${values.subject} (one partition)` : 'spread over 6 partitions';
  process.stdout.write(`backlog: produced ${events} events, ${spread}, in ${produceSecs.toFixed(1)} s\n`);

  const probe = await ControlPlaneProbe.open(stack, names);
  const started = performance.now();
  const sinks: AppProcess[] = await Promise.all(Array.from({ length: processes }, (_, i) => startSink(names, sinkExtra, `p${i}`)));
  const consuming = performance.now();
  // A partition that never had an event is never committed: it counts as drained when empty.
  await waitFor(async () => (await groupLag(kafka, names.group, names.topic)).every((p) => p.lag === 0 && (p.committed !== null || p.end === 0)), {
    timeoutMs: 600_000,
    intervalMs: 200,
    description: 'lag 0',
  });
  const done = performance.now();
  const cpu = sinks.map((s) => cpuSeconds(s.pid));
  const totals = await tableTotals(clickhouse, names.database);
  const secs = (done - started) / 1000;
  process.stdout.write(
    `backlog: ${processes} sink process(es) inserted ${totals.rows} rows (${totals.distinct} distinct) in ${secs.toFixed(1)} s from spawn ` +
      `(start-up ${((consuming - started) / 1000).toFixed(1)} s of it): ${Math.round(events / secs)} events/s; sink CPU ${cpu.map((c) => c.toFixed(1)).join(' + ')} s ` +
      `(${Math.round(events / cpu.reduce((a, b) => a + b, 0))} events per CPU-second, start-up included)\n`,
  );
  await Promise.all(sinks.map((s) => s.stop()));
  await probe.close();
  await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${names.database}` });
  await deleteTopics(kafka, [names.topic, names.dlqTopic]);
}

async function steady(): Promise<void> {
  const names = testNames('bench_steady');
  await createTopics(kafka, [names.topic, names.dlqTopic]);
  const probe = await ControlPlaneProbe.open(stack, names);
  const sinks = await Promise.all(Array.from({ length: processes }, (_, i) => startSink(names, sinkExtra, `p${i}`)));
  const producer = new EventProducer(kafka, names.topic);
  await producer.connect();
  producer.startSteady(rate);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await producer.stopSteady();
  await producer.disconnect();
  const sent = producer.ids.length;
  await waitFor(async () => (await tableTotals(clickhouse, names.database)).rows >= sent, { timeoutMs: 120_000, intervalMs: 250, description: 'all rows' });
  const q = (p: number) =>
    scalar<number>(clickhouse, `SELECT round(quantileExact(${p})(dateDiff('millisecond', received_at, inserted_at))) FROM ${names.database}.events`);
  const [p50, p95, p99, max] = [await q(0.5), await q(0.95), await q(0.99), await q(1)];
  process.stdout.write(
    `steady: ${sent} events at ${rate}/s for ${seconds} s, ${processes} sink process(es), flush age ${sinkExtra.SINK_FLUSH_MAX_AGE_MS} ms: ` +
      `accept-to-insert delay p50 ${p50} ms, p95 ${p95} ms, p99 ${p99} ms, max ${max} ms\n`,
  );
  await Promise.all(sinks.map((s) => s.stop()));
  await probe.close();
  await clickhouse.command({ query: `DROP DATABASE IF EXISTS ${names.database}` });
  await deleteTopics(kafka, [names.topic, names.dlqTopic]);
}

try {
  await backlog();
  if (!values.subject) await steady();
} finally {
  await clickhouse.close();
}
