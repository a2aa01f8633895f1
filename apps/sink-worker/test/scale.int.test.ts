import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import {
  ControlPlaneProbe,
  EventProducer,
  createTopics,
  deleteTopics,
  exactlyOnce,
  runCli,
  sinkEnv,
  stackConfigForTests,
  startSupervisor,
  testClickHouse,
  testKafka,
  testNames,
  waitFor,
  waitForLagZero,
  waitForRows,
  type AppProcess,
} from './harness.ts';

/** Done-when #6: `floodgate sink scale 3`, then `scale 1`, under load: processes appear and go; totals exact. */
describe('floodgate sink scale, under load', () => {
  const stack = stackConfigForTests();
  const names = testNames('scale');
  const env = sinkEnv(names);
  let kafka: Kafka;
  let clickhouse: ClickHouseClient;
  let probe: ControlPlaneProbe;
  let producer: EventProducer;
  let supervisor: AppProcess | undefined;

  beforeAll(async () => {
    kafka = testKafka(stack);
    await createTopics(kafka, [names.topic, names.dlqTopic]);
    clickhouse = testClickHouse(stack);
    probe = await ControlPlaneProbe.open(stack, names);
    producer = new EventProducer(kafka, names.topic);
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect().catch(() => {});
    await supervisor?.stop();
    await probe?.close().catch(() => {});
    await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${names.database}` }).catch(() => {});
    await clickhouse?.close();
    if (kafka) await deleteTopics(kafka, [names.topic, names.dlqTopic]);
  });

  it('grows to 3 processes and shrinks to 1, and every event lands once', async () => {
    supervisor = await startSupervisor(names, 1);
    const one = await probe.waitForOwners(1);
    producer.startSteady(1500);
    await new Promise((r) => setTimeout(r, 1500));

    const up = await runCli(['sink', 'scale', '3'], env);
    expect(up.code, up.stderr).toBe(0);
    process.stdout.write(`\n$ floodgate sink scale 3\n${up.stdout}`);
    const three = await probe.waitForOwners(3, 6, 30_000);
    expect(three.processes.map((p) => p.pid)).toContain(one.processes[0]!.pid);
    expect(three.supervisors[0]).toMatchObject({ mode: 'fixed', desired: 3 });
    const text = await runCli(['status'], env);
    process.stdout.write(`$ floodgate status\n${text.stdout}\n`);
    await new Promise((r) => setTimeout(r, 2000));

    const down = await runCli(['sink', 'scale', '1'], env);
    expect(down.code, down.stderr).toBe(0);
    process.stdout.write(`$ floodgate sink scale 1\n${down.stdout}`);
    const back = await probe.waitForOwners(1, 6, 30_000);
    expect(back.processes[0]!.pid).toBe(one.processes[0]!.pid); // the newest processes go first
    await waitFor(async () => (await probe.members()).supervisors[0]?.workers.length === 1, { timeoutMs: 20_000, description: 'one worker left' });

    await new Promise((r) => setTimeout(r, 1500));
    await producer.stopSteady();
    const produced = producer.ids;
    await waitForLagZero(kafka, names);
    await waitForRows(clickhouse, names.database, produced.length);
    expect(await exactlyOnce(clickhouse, names.database, produced)).toEqual({ rows: produced.length, distinct: produced.length, missing: 0, extra: 0 });
    // The scaled-down processes drained (exit 0): the supervisor did not count them as crashes.
    expect(supervisor.count((e) => e.msg === 'sink process exited unexpectedly; restarting')).toBe(0);
    expect(supervisor.count((e) => e.msg === 'sink process stopped')).toBe(2);
  });
});
