import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@floodgate/logging';
import { createKafka } from '@floodgate/kafka';
import { freePort, stackConfigForTests, startPipeline, uniqueName, type RunningPipeline } from '@floodgate/testkit';

/**
 * Network exposure (docs/security.md): on an address that is not loopback, the gateway and the
 * sink refuse to start without the admin token (and the gateway without API keys), before they
 * touch Kafka or bind a port; with them, /metrics wants the token on that listener.
 */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ADMIN_TOKEN = 'exposure-admin-token-0123456789';
const API_KEY = 'exposure-api-key-0001';

interface Outcome {
  /** Exit code, or 'listening' when the app got as far as serving (it is then killed). */
  result: number | null | 'listening';
  output: string;
}

/**
 * Runs an app's entry as `npm start` does (node --import tsx) until it exits, or until it logs that
 * it serves (then it is killed: that is the failure this file guards against).
 */
function runUntilExitOrServing(entry: string, env: NodeJS.ProcessEnv, servingMessage: RegExp): Promise<Outcome> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, entry)], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: Outcome['result']) => {
      if (settled) return;
      settled = true;
      clearTimeout(bound);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve({ result, output });
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (servingMessage.test(output)) settle('listening');
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => settle(code));
    // Generous: a refusal comes from the config, within a few seconds even on a busy machine.
    const bound = setTimeout(() => settle('listening'), 90_000);
  });
}

describe('gateway and sink on a non-loopback address', () => {
  const stack = stackConfigForTests();
  const topics: string[] = [];
  const kafka = createKafka({ brokers: stack.KAFKA_BROKERS, clientId: 'exposure-test', logger: createLogger('test', { level: 'error' }) });

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const created = topics.filter((t) => existing.has(t));
    if (created.length > 0) await admin.deleteTopics({ topics: created });
    await admin.disconnect();
  });

  async function gatewayRefuses(env: NodeJS.ProcessEnv): Promise<string> {
    const topic = uniqueName('gw_exposure');
    topics.push(topic, `${topic}_dlq`);
    const outcome = await runUntilExitOrServing(
      'apps/gateway/src/main.ts',
      {
        KAFKA_TOPIC: topic,
        KAFKA_DLQ_TOPIC: `${topic}_dlq`,
        GATEWAY_PORT: String(await freePort()),
        ADMIN_PORT: String(await freePort()),
        GATEWAY_PROCESSES: '1',
        INGEST_THREADS: '1',
        FLOODGATE_API_KEYS: '',
        FLOODGATE_API_KEYS_FILE: '',
        FLOODGATE_ADMIN_TOKEN: '',
        FLOODGATE_AUTH: 'on',
        OTEL_SDK_DISABLED: 'true',
        ...env,
      },
      /"msg":"gateway (process )?listening"/,
    );
    expect(outcome.result, outcome.output).toBe(1);
    expect(outcome.output).toContain('CONFIG_INVALID');
    expect(outcome.output).not.toMatch(/listening/);
    // It stopped before touching anything: the topic migration (which comes before any listener) never ran.
    const admin = kafka.admin();
    await admin.connect();
    const existing = await admin.listTopics();
    await admin.disconnect();
    expect(existing).not.toContain(topic);
    return outcome.output;
  }

  it('the gateway on 0.0.0.0 with API keys but no admin token exits 1 with CONFIG_INVALID naming FLOODGATE_ADMIN_TOKEN, before creating topics or listening', async () => {
    const output = await gatewayRefuses({ GATEWAY_HOST: '0.0.0.0', FLOODGATE_API_KEYS: `t:${API_KEY}` });
    expect(output).toContain('FLOODGATE_ADMIN_TOKEN: required when GATEWAY_HOST (0.0.0.0) or ADMIN_HOST (127.0.0.1) is not a loopback address');
  });

  it('the gateway with only ADMIN_HOST=:: and no admin token exits 1 naming FLOODGATE_ADMIN_TOKEN', async () => {
    const output = await gatewayRefuses({ ADMIN_HOST: '::', FLOODGATE_API_KEYS: `t:${API_KEY}` });
    expect(output).toContain('FLOODGATE_ADMIN_TOKEN: required when GATEWAY_HOST (127.0.0.1) or ADMIN_HOST (::) is not a loopback address');
  });

  it('the gateway on :: with FLOODGATE_AUTH=off (no API keys) exits 1 naming FLOODGATE_AUTH, even with an admin token', async () => {
    const output = await gatewayRefuses({ GATEWAY_HOST: '::', FLOODGATE_AUTH: 'off', FLOODGATE_ADMIN_TOKEN: ADMIN_TOKEN });
    expect(output).toContain('FLOODGATE_AUTH: off is refused when GATEWAY_HOST (::) is not a loopback address');
    expect(output).not.toContain('FLOODGATE_ADMIN_TOKEN: required');
  });

  it('the sink supervisor with SINK_ADMIN_HOST=0.0.0.0 and no admin token exits 1 naming FLOODGATE_ADMIN_TOKEN, before consuming', async () => {
    const topic = uniqueName('sink_exposure');
    topics.push(topic, `${topic}_dlq`);
    const outcome = await runUntilExitOrServing(
      'apps/sink-worker/src/supervisor-main.ts',
      {
        KAFKA_TOPIC: topic,
        KAFKA_DLQ_TOPIC: `${topic}_dlq`,
        SINK_GROUP_ID: uniqueName('sink_exposure'),
        SINK_NATS_PREFIX: uniqueName('exposure'),
        CLICKHOUSE_DATABASE: uniqueName('it_exposure'),
        SINK_ADMIN_HOST: '0.0.0.0',
        SINK_ADMIN_PORT: String(await freePort()),
        SINK_PROCESSES: '1',
        FLOODGATE_ADMIN_TOKEN: '',
        OTEL_SDK_DISABLED: 'true',
      },
      /"msg":"sink (consuming|process started)"/,
    );
    expect(outcome.result, outcome.output).toBe(1);
    expect(outcome.output).toContain('CONFIG_INVALID');
    expect(outcome.output).toContain('FLOODGATE_ADMIN_TOKEN: required when SINK_ADMIN_HOST (0.0.0.0) is not a loopback address');
  });

  describe('with API keys and the admin token on :: (both listeners)', () => {
    let pipeline: RunningPipeline;
    const topic = uniqueName('gw_exposed');

    afterAll(async () => {
      await pipeline?.stop();
    });

    it('starts; /metrics and the admin UI answer 401 without the token and /metrics 200 with it; probes stay open; ingest wants a key', async () => {
      topics.push(topic, `${topic}_dlq`);
      pipeline = await startPipeline({
        apps: ['gateway'],
        env: {
          KAFKA_TOPIC: topic,
          KAFKA_DLQ_TOPIC: `${topic}_dlq`,
          GATEWAY_HOST: '::',
          ADMIN_HOST: '::',
          GATEWAY_PORT: String(await freePort()),
          ADMIN_PORT: '0',
          GATEWAY_PROCESSES: '1',
          INGEST_THREADS: '1',
          FLOODGATE_API_KEYS: `t:${API_KEY}`,
          FLOODGATE_ADMIN_TOKEN: ADMIN_TOKEN,
          OTEL_SDK_DISABLED: 'true',
        },
        onLogLine: (app, line) => {
          if (/"level":"(error|fatal)"/.test(line)) process.stderr.write(`[${app}] ${line}\n`);
        },
      });
      // The any-address is reached on loopback, IPv6 bracketed.
      expect(pipeline.adminUrl).toMatch(/^http:\/\/\[::1\]:\d+$/);
      const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers: { connection: 'close', ...headers } });

      const open = await get(`${pipeline.adminUrl}/metrics`);
      expect(open.status).toBe(401);
      expect(open.headers.get('www-authenticate')).toBe('Bearer realm="floodgate-admin"');
      expect(((await open.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');

      const wrong = await get(`${pipeline.adminUrl}/metrics`, { authorization: `Bearer ${ADMIN_TOKEN}x` });
      expect(wrong.status).toBe(401);
      await wrong.body?.cancel();

      const ui = await get(`${pipeline.adminUrl}/ui/traces`);
      expect(ui.status).toBe(401);
      await ui.body?.cancel();

      const scraped = await get(`${pipeline.adminUrl}/metrics`, { authorization: `Bearer ${ADMIN_TOKEN}` });
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('floodgate_gateway_process_restarts_total');

      const health = await get(`${pipeline.adminUrl}/healthz`);
      expect(health.status).toBe(200);
      await health.body?.cancel();

      const ingest = await fetch(`${pipeline.gatewayUrl}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: '{"type":"t"}' });
      expect(ingest.status).toBe(401);
      await ingest.body?.cancel();
    });
  });
});
