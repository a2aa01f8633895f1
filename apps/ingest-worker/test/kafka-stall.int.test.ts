import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, startPipeline, startPrivateKafka, uniqueName, waitFor, type PrivateKafka, type RunningPipeline } from '@floodgate/testkit';

/**
 * The ingest path while the broker stalls: a private broker (the shared one must never be frozen)
 * is stopped with SIGSTOP for longer than KAFKA_SEND_TIMEOUT_MS, so produce requests time out with
 * their fate unknown, then continued. The proof reads the topic itself: every event the gateway
 * acknowledged must be there exactly once, and every 503 must say truly what may have happened and
 * give the ids a retry needs (docs/client-retries.md).
 */
const KEY = 'key-kafka-stall-0001';

interface Answer {
  status: number;
  body: any;
}

describe('ingest while the Kafka broker stalls', () => {
  let kafka: PrivateKafka;
  let pipeline: RunningPipeline | undefined;
  let agent: Agent;
  let topic: string;

  beforeAll(async () => {
    kafka = await startPrivateKafka('stall');
    agent = new Agent({ connections: 16, pipelining: 1 });
  });

  afterEach(async () => {
    await pipeline?.stop();
    pipeline = undefined;
  });

  afterAll(async () => {
    await agent?.close();
    await kafka?.destroy();
  });

  /** A gateway with one process and one ingest thread: every request goes through one producer. */
  async function startGateway(sendTimeoutMs: number): Promise<void> {
    topic = uniqueName('stall');
    pipeline = await startPipeline({
      apps: ['gateway'],
      env: {
        KAFKA_BROKERS: kafka.brokers,
        KAFKA_TOPIC: topic,
        KAFKA_DLQ_TOPIC: uniqueName('stall_dlq'),
        GATEWAY_PORT: String(await freePort()),
        ADMIN_PORT: '0',
        GATEWAY_PROCESSES: '1',
        INGEST_THREADS: '1',
        KAFKA_SEND_TIMEOUT_MS: String(sendTimeoutMs),
        KAFKA_COMPRESSION: 'none',
        FLOODGATE_API_KEYS: `t:${KEY}`,
      },
      // STALL_VERBOSE=1 shows every log line of the gateway and its workers, for debugging.
      onLogLine: (app, line) => {
        if (process.env.STALL_VERBOSE || /"level":"(error|fatal)"/.test(line)) process.stderr.write(`[${app}] ${line}\n`);
      },
    });
  }

  async function post(event: Record<string, unknown>): Promise<Answer> {
    const r = await request(new URL('/v1/events', pipeline!.gatewayUrl), {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify(event),
    });
    return { status: r.statusCode, body: await r.body.json() };
  }

  /** How often each event id is on the topic, read from the beginning up to the high watermarks. */
  async function idsInTopic(): Promise<Map<string, number>> {
    const client = new Kafka({ brokers: [kafka.brokers], clientId: 'stall-proof', logLevel: logLevel.NOTHING });
    const admin = client.admin();
    await admin.connect();
    // Right after a thaw the broker may be re-electing its partitions' leaders: ask until it answers.
    const offsets = await waitFor(() => admin.fetchTopicOffsets(topic), { timeoutMs: 30_000, intervalMs: 500, description: `the offsets of ${topic}` });
    await admin.disconnect();
    const total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    const counts = new Map<string, number>();
    let read = 0;
    const consumer = client.consumer({ groupId: uniqueName('stall_proof') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        const id = String(message.headers?.['event-id']);
        counts.set(id, (counts.get(id) ?? 0) + 1);
        read++;
      },
    });
    try {
      await waitFor(() => read >= total, { timeoutMs: 60_000, intervalMs: 200, description: `${total} records read back from ${topic}` });
    } finally {
      await consumer.disconnect();
    }
    return counts;
  }

  it('never acknowledges a send queued behind a timed-out one: kafkajs rolled back its sequence number and the broker dropped it as a duplicate', async () => {
    // The window: our timeout (7.5 s) < kafkajs' request timeout (10 s) < the stall (12.5 s) < twice
    // our timeout. A times out at 7.5 s; B, queued behind it, is sent then; at 10 s kafkajs gives up
    // on A and rolls A's sequence number back, and B takes it. The thawed broker writes A, then sees
    // B with A's sequence number and answers success without writing B.
    await startGateway(7500);
    expect((await post({ type: 'warm', subject: 'same' })).status).toBe(202);
    await kafka.freeze();
    const a = post({ type: 'a', subject: 'same' });
    await sleep(300);
    const b = post({ type: 'b', subject: 'same' });
    await sleep(12_200);
    kafka.thaw();
    const [ra, rb] = await Promise.all([a, b]);
    const answerOf = (r: Answer) => ({ status: r.status, code: r.body.error?.code, outcome: r.body.error?.details?.outcome });
    const idOf = (r: Answer) => (r.status === 202 ? r.body.ids?.[0] : r.body.error?.details?.ids?.[0]) as string;
    const idB = idOf(rb);
    expect(typeof idB).toBe('string');
    // Ingest resumes on a new producer; the broker has its partitions' leaders again.
    await waitFor(async () => (await post({ type: 'probe', subject: 'same' })).status === 202, { timeoutMs: 30_000, intervalMs: 500, description: 'ingest to resume' });
    const before = await idsInTopic();

    // Delivery: on the old code B was answered 202 and is not in Kafka. Now B never goes out on the
    // producer whose state is unknown: it fails at once, and its answer says it was not written.
    expect({ ...answerOf(rb), copiesInKafka: before.get(idB) ?? 0 }).toEqual({ status: 503, code: 'KAFKA_UNAVAILABLE', outcome: 'not_written', copiesInKafka: 0 });
    // A was sent and not acknowledged: its fate is unknown, and the answer says so (the broker
    // writes it when it resumes, once: kafkajs retries it with its own sequence number).
    const idA = idOf(ra);
    expect(typeof idA).toBe('string');
    expect({ ...answerOf(ra), copiesInKafka: before.get(idA) ?? 0 }).toEqual({ status: 503, code: 'KAFKA_UNAVAILABLE', outcome: 'unknown', copiesInKafka: 1 });

    // The client's retry: the same events, with the ids the 503s named, accepted under those ids.
    const retryA = await post({ type: 'a', subject: 'same', id: idA });
    const retryB = await post({ type: 'b', subject: 'same', id: idB });
    expect([retryA.status, retryA.body.ids, retryB.status, retryB.body.ids]).toEqual([202, [idA], 202, [idB]]);
    // B is in Kafka once; A twice under one id, which the events table keeps as one row.
    const after = await idsInTopic();
    expect([after.get(idA), after.get(idB)]).toEqual([2, 1]);
  });

  it('under steady single-event load across an 8 s freeze: every 202 is in Kafka once, every 503 names its ids truly, and retrying with them loses nothing', async () => {
    await startGateway(2000);
    const accepted: string[] = [];
    const failed: { event: Record<string, unknown>; answer: Answer }[] = [];
    let sent = 0;
    let stop = false;
    // 8 clients, one event per request, ~25 ms apart each: a steady load through one producer.
    const client = async (c: number) => {
      for (let n = 0; !stop; n++) {
        const event = { type: 'stall', subject: `s-${c}-${n % 5}`, data: { c, n } };
        sent++;
        const answer = await post(event);
        if (answer.status === 202) accepted.push(...(answer.body.ids as string[]));
        else failed.push({ event, answer });
        await sleep(answer.status === 202 ? 25 : 100);
      }
    };
    const clients = Array.from({ length: 8 }, (_, c) => client(c));
    await waitFor(() => accepted.length >= 200, { timeoutMs: 30_000, description: '200 events accepted before the freeze' });
    await kafka.freeze();
    await sleep(8000);
    kafka.thaw();
    const acceptedAtThaw = accepted.length;
    await waitFor(() => accepted.length >= acceptedAtThaw + 200, { timeoutMs: 60_000, description: '200 more events accepted after the thaw' });
    stop = true;
    await Promise.all(clients);

    // Delivery: every acknowledged event is in Kafka, exactly once.
    let counts = await idsInTopic();
    const missing = accepted.filter((id) => !counts.has(id));
    const duplicated = accepted.filter((id) => counts.get(id)! > 1);
    expect({ missing: missing.length, duplicated: duplicated.length }).toEqual({ missing: 0, duplicated: 0 });

    // The freeze made sends fail, and every failure is a 503 that says what may have happened,
    // truly: a `not_written` event is not in Kafka; an `unknown` one may be, at most once.
    expect(failed.length).toBeGreaterThan(0);
    for (const { answer } of failed) {
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('KAFKA_UNAVAILABLE');
      expect(['unknown', 'not_written']).toContain(answer.body.error.details?.outcome);
      expect(answer.body.error.details.ids).toHaveLength(1);
    }
    const failedIds = (outcome: string) => failed.filter((f) => f.answer.body.error.details.outcome === outcome).map((f) => f.answer.body.error.details.ids[0] as string);
    const unknownIds = failedIds('unknown');
    const notWrittenIds = failedIds('not_written');
    const landedDespite503 = unknownIds.filter((id) => counts.has(id)).length;
    console.log(JSON.stringify({ sent, accepted: accepted.length, unknown: unknownIds.length, notWritten: notWrittenIds.length, landedDespite503 }));
    expect(unknownIds.length).toBeGreaterThan(0);
    expect(notWrittenIds.filter((id) => counts.has(id))).toEqual([]);
    expect(unknownIds.filter((id) => counts.get(id)! > 1)).toEqual([]);

    // The client retries every failed event with the id its 503 named: all are accepted under
    // those ids, and then every event sent is in Kafka, under one id each.
    for (const { event, answer } of failed) {
      const id = answer.body.error.details.ids[0] as string;
      const retry = await post({ ...event, id });
      expect([retry.status, retry.body.ids]).toEqual([202, [id]]);
    }
    counts = await idsInTopic();
    const allIds = [...accepted, ...failed.map((f) => f.answer.body.error.details.ids[0] as string)];
    expect(new Set(allIds).size).toBe(sent);
    expect(allIds.filter((id) => !counts.has(id))).toEqual([]);
    expect(counts.size).toBe(sent);
  });
});
