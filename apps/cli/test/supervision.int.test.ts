import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { Kafka, logLevel } from 'kafkajs';
import { createClickHouse } from '@floodgate/clickhouse';
import { clickhouseUrl } from '@floodgate/config';
import { createLogger } from '@floodgate/logging';
import { connectNats, destroyBucket } from '@floodgate/nats';
import { sinkControlPlane } from '@floodgate/sink-protocol';
import { freePort, stackConfigForTests, startPipeline, uniqueName, waitFor, type RunningPipeline } from '@floodgate/testkit';

/**
 * Issue 9, defect 11: the pipeline that `floodgate start` (npm start) runs supervises every process. A
 * sink process killed with SIGKILL (an OOM kill looks the same) is restarted and the backlog
 * drains; the sink supervisor and the gateway primary are restarted too if they die. Own topic,
 * consumer group, NATS prefix and database on the shared stack.
 */
const API_KEY = 'test-key-supervision-0001';

interface LogEntry {
  /** Which of the pipeline's streams the line came from: `gateway`, `sink` or `pipeline`. */
  from: string;
  msg?: string;
  pid?: number;
  [key: string]: unknown;
}

/** The process tree under `root` (root included): pid and command line of each. */
function processTree(root: number): Array<{ pid: number; cmdline: string }> {
  const parent = new Map<number, number>();
  const cmdlines = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue; // a zombie is dead already
      parent.set(Number(entry), Number(fields[1]));
      cmdlines.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      // gone meanwhile
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, depth = 0; p !== undefined && depth < 50; p = parent.get(p), depth++) if (p === root) return true;
    return false;
  };
  return [...cmdlines].filter(([pid]) => inTree(pid)).map(([pid, cmdline]) => ({ pid, cmdline }));
}

/** Sink processes (apps/sink-worker/src/main.ts) run by the pipeline's sink app. */
function sinkProcesses(pipeline: RunningPipeline): number[] {
  return processTree(pipeline.pids.sink!)
    .filter((p) => p.cmdline.includes('apps/sink-worker/src/main.ts'))
    .map((p) => p.pid);
}

describe('floodgate start: every process is supervised', () => {
  const stack = stackConfigForTests();
  const database = uniqueName('it_supervision');
  const topics = [uniqueName('supervision'), uniqueName('supervision-dlq')];
  const prefix = uniqueName('it_supervision');
  const logs: LogEntry[] = [];
  let pipeline: RunningPipeline;
  let clickhouse: ClickHouseClient;

  beforeAll(async () => {
    pipeline = await startPipeline({
      env: {
        KAFKA_TOPIC: topics[0],
        KAFKA_DLQ_TOPIC: topics[1],
        SINK_GROUP_ID: uniqueName('supervision-sink'),
        SINK_NATS_PREFIX: prefix,
        CLICKHOUSE_DATABASE: database,
        GATEWAY_PORT: String(await freePort()),
        ADMIN_PORT: '0',
        SINK_ADMIN_PORT: '0',
        GATEWAY_PROCESSES: '1',
        FLOODGATE_API_KEYS: `default:${API_KEY}`,
        // A killed sink's partitions come back after the session timeout: keep it short.
        SINK_SESSION_TIMEOUT_MS: '6000',
        SINK_HEARTBEAT_INTERVAL_MS: '500',
        SINK_FLUSH_MAX_AGE_MS: '300',
        LOG_LEVEL: 'info',
      },
      onLogLine: (app, line) => {
        if (!line.startsWith('{')) return;
        try {
          const entry: LogEntry = { ...(JSON.parse(line) as Omit<LogEntry, 'from'>), from: app };
          logs.push(entry);
          if (/"level":"(error|fatal)"/.test(line) && !line.includes('"component":"kafkajs"')) process.stderr.write(`[${app}] ${line}\n`);
        } catch {
          // not a JSON line
        }
      },
    });
    clickhouse = createClickHouse({ url: clickhouseUrl(stack), username: stack.CLICKHOUSE_USER, password: stack.CLICKHOUSE_PASSWORD, database: 'default' });
  });

  afterAll(async () => {
    await pipeline?.stop();
    await clickhouse?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => {});
    await clickhouse?.close();
    const admin = new Kafka({ brokers: stack.KAFKA_BROKERS, clientId: 'it-supervision', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => {});
    await admin.disconnect();
    const nc = await connectNats({ config: stack, name: 'it-supervision', logger: createLogger('it-supervision', { level: 'silent' }) });
    const plane = sinkControlPlane(prefix);
    await destroyBucket(nc, plane.membersBucket);
    await destroyBucket(nc, plane.batchesBucket);
    await nc.close();
  });

  interface Load {
    /** Ids of events answered 202. */
    acked: string[];
    /** Ids of every event sent (a request whose answer was lost may still have been accepted). */
    sent: Set<string>;
    stop(): Promise<void>;
  }

  /** Posts batches of 50 events (own ids, of type `type`) every 100 ms on fresh connections. */
  function startLoad(type: string): Load {
    const acked: string[] = [];
    const sent = new Set<string>();
    let running = true;
    let n = 0;
    const loop = (async () => {
      while (running) {
        const started = Date.now();
        const events = Array.from({ length: 50 }, () => ({ id: randomUUID(), type, data: { n: n++ } }));
        for (const e of events) sent.add(e.id);
        const body = JSON.stringify(events);
        try {
          const response = await fetch(`${pipeline.gatewayUrl}/v1/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, connection: 'close' },
            body,
          });
          const json = (await response.json()) as { ids?: string[] };
          if (response.status === 202) acked.push(...json.ids!);
        } catch {
          // the gateway is restarting: not acknowledged
        }
        await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
      }
    })();
    return {
      acked,
      sent,
      stop: async () => {
        running = false;
        await loop;
      },
    };
  }

  async function landedIds(type: string): Promise<string[]> {
    const result = await clickhouse.query({ query: `SELECT id FROM ${database}.events WHERE type = {type:String}`, query_params: { type }, format: 'JSONCompactEachRow' });
    return (await result.json<[string]>()).map(([id]) => id);
  }

  /**
   * Every acknowledged event is in ClickHouse, no event twice, and nothing that was not sent. Returns
   * how many unacknowledged events (answer lost with a killed gateway) landed anyway.
   */
  async function expectLandedOnce(type: string, load: Load): Promise<number> {
    const want = new Set(load.acked);
    expect(want.size).toBe(load.acked.length);
    const ids = await waitFor(
      async () => {
        const ids = await landedIds(type);
        const seen = new Set(ids);
        return [...want].every((id) => seen.has(id)) ? ids : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, description: `all ${want.size} acknowledged events in ClickHouse` },
    );
    expect(ids).toHaveLength(new Set(ids).size);
    expect(ids.filter((id) => !load.sent.has(id))).toEqual([]);
    return ids.length - want.size;
  }

  it('restarts a SIGKILLed sink process and the backlog drains: every acknowledged event lands once', async () => {
    const before = sinkProcesses(pipeline);
    expect(before).toHaveLength(1);
    const victim = before[0]!;
    const load = startLoad('sink-killed');
    await waitFor(async () => (await landedIds('sink-killed').catch(() => [])).length >= 500, { timeoutMs: 30_000, intervalMs: 250, description: 'the first events in ClickHouse' });

    process.kill(victim, 'SIGKILL');
    const replacement = await waitFor(
      () => {
        const now = sinkProcesses(pipeline);
        return now.length === 1 && now[0] !== victim ? now[0] : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, description: `a new sink process in place of the killed ${victim}` },
    );
    const ackedAtKill = load.acked.length;
    await waitFor(() => load.acked.length >= ackedAtKill + 1000, { timeoutMs: 30_000, intervalMs: 100, description: 'more acknowledged load after the kill' });
    await load.stop();
    expect(await expectLandedOnce('sink-killed', load)).toBe(0); // the gateway answered every request

    // The log says the sink is supervised, and who restarted the killed process.
    expect(logs.some((e) => e.from === 'pipeline' && e.msg === 'sink runs under its supervisor: a sink process that dies is restarted with backoff')).toBe(true);
    expect(logs.some((e) => e.from === 'sink' && e.msg === 'sink supervisor running' && String(e.restarts).startsWith('a sink process that dies is restarted with backoff'))).toBe(true);
    expect(logs.filter((e) => e.from === 'sink' && e.msg === 'sink process exited unexpectedly; restarting').map((e) => [e.pid, e.signal])).toEqual([[victim, 'SIGKILL']]);
    expect(sinkProcesses(pipeline)).toEqual([replacement]);
    process.stdout.write(`supervision test: sink process ${victim} SIGKILLed, ${replacement} took over; ${load.acked.length} acknowledged events landed once\n`);
  });

  it('restarts the sink supervisor itself when it is SIGKILLed, and the backlog drains', async () => {
    const supervisor = pipeline.pids.sink!;
    const consumingBefore = logs.filter((e) => e.msg === 'sink consuming').length;
    const load = startLoad('supervisor-killed');
    await waitFor(() => load.acked.length >= 500, { timeoutMs: 30_000, intervalMs: 100, description: 'acknowledged load' });

    process.kill(supervisor, 'SIGKILL');
    await waitFor(() => pipeline.pids.sink !== supervisor && logs.filter((e) => e.msg === 'sink consuming').length > consumingBefore, {
      timeoutMs: 60_000,
      intervalMs: 200,
      description: 'a new sink supervisor whose sink process consumes',
    });
    expect(pipeline.restarts('sink')).toBe(1);
    expect(logs.filter((e) => e.from === 'pipeline' && e.msg === 'sink died; restarting it').map((e) => [e.pid, e.signal])).toEqual([[supervisor, 'SIGKILL']]);
    const ackedAtKill = load.acked.length;
    await waitFor(() => load.acked.length >= ackedAtKill + 1000, { timeoutMs: 30_000, intervalMs: 100, description: 'more acknowledged load after the kill' });
    await load.stop();
    expect(await expectLandedOnce('supervisor-killed', load)).toBe(0);
    expect(sinkProcesses(pipeline)).toHaveLength(1);
  });

  it('restarts the gateway primary when it is SIGKILLed, and ingest resumes', async () => {
    const primary = pipeline.pids.gateway!;
    const load = startLoad('gateway-killed');
    await waitFor(() => load.acked.length >= 200, { timeoutMs: 30_000, intervalMs: 100, description: 'acknowledged load' });

    process.kill(primary, 'SIGKILL');
    await waitFor(() => pipeline.pids.gateway !== primary, { timeoutMs: 30_000, intervalMs: 100, description: 'a new gateway primary' });
    const ackedAtKill = load.acked.length;
    await waitFor(() => load.acked.length >= ackedAtKill + 500, { timeoutMs: 60_000, intervalMs: 100, description: 'acknowledged load from the new gateway' });
    await load.stop();
    expect(pipeline.restarts('gateway')).toBe(1);
    expect(logs.filter((e) => e.from === 'pipeline' && e.msg === 'gateway died; restarting it').map((e) => [e.pid, e.signal])).toEqual([[primary, 'SIGKILL']]);
    await expectLandedOnce('gateway-killed', load);
  });
});
