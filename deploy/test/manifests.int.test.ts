import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { loadConfig } from '@floodgate/config';
import { gatewaySchema } from '@floodgate/gateway';
import { sinkSchema, supervisorSchema } from '@floodgate/sink-worker';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE_DIR = path.join(REPO_ROOT, 'deploy/compose');
const VALIDATOR_SRC = path.join(REPO_ROOT, 'deploy/validate/compose');

/** Variables the apps read besides their config schemas (OpenTelemetry SDK, logging, Node). */
const OTHER_KNOWN = /^(OTEL_[A-Z_]+|LOG_LEVEL|NODE_ENV)$/;
/** Settings a deployment must set itself: their defaults are the local stack's. */
const MUST_SET = ['KAFKA_BROKERS', 'KAFKA_REPLICATION_FACTOR', 'KAFKA_MIN_INSYNC_REPLICAS', 'NATS_URL', 'CLICKHOUSE_URL', 'CLICKHOUSE_PASSWORD'];

type Schema = typeof gatewaySchema | typeof sinkSchema | typeof supervisorSchema;

/** Every variable of the apps' config schemas (a ConfigMap is shared by gateway and sink). */
const KNOWN = new Set([...Object.keys(gatewaySchema.shape), ...Object.keys(supervisorSchema.shape)]);

/** Every variable set is one an app reads (no typo goes unnoticed), the app's schema accepts them all, and the deployment-specific ones are set. */
function checkAppEnvironment(where: string, schema: Schema, env: Record<string, string>): void {
  for (const key of Object.keys(env)) {
    expect(KNOWN.has(key) || OTHER_KNOWN.test(key), `${where}: ${key} is read by no app`).toBe(true);
  }
  for (const key of MUST_SET) expect(env[key], `${where}: ${key} must be set`).toBeTruthy();
  expect(() => loadConfig(schema as typeof sinkSchema, { env }), where).not.toThrow();
}

function replicationOf(env: Record<string, string>): { brokers: number; rf: number; minIsr: number } {
  return { brokers: env.KAFKA_BROKERS!.split(',').length, rf: Number(env.KAFKA_REPLICATION_FACTOR), minIsr: Number(env.KAFKA_MIN_INSYNC_REPLICAS) };
}

describe('deploy/compose: Compose specification (compose-go), environment, replication', () => {
  const validator = path.join(REPO_ROOT, '.floodgate-build/validate-compose');
  const secrets = { NATS_PASSWORD: 'n-secret', CLICKHOUSE_PASSWORD: 'c-secret', FLOODGATE_API_KEYS: 'tenant-a:key-a', FLOODGATE_ADMIN_TOKEN: '0123456789abcdef0123' };

  beforeAll(() => {
    // compose-go from the Go module proxy (pinned in go.mod/go.sum); built once, then cached by Go.
    mkdirSync(path.dirname(validator), { recursive: true });
    execFileSync('go', ['build', '-o', validator, '.'], { cwd: VALIDATOR_SRC, stdio: ['ignore', 'inherit', 'inherit'], timeout: 170_000 });
  });

  function load(files: string[], env: Record<string, string> = secrets): { status: number | null; stderr: string; project: any } {
    const args = files.flatMap((f) => ['-f', path.join(COMPOSE_DIR, f)]);
    const { PATH, HOME } = process.env;
    const result = spawnSync(validator, args, { encoding: 'utf8', env: { PATH, HOME, ...env } });
    return { status: result.status, stderr: result.stderr, project: result.status === 0 ? JSON.parse(result.stdout) : undefined };
  }

  it('the validator rejects what the Compose specification forbids (an unknown service key)', () => {
    const result = spawnSync(validator, ['-f', path.join(REPO_ROOT, 'deploy/test/fixtures/compose-invalid.yml')], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/additional properties 'stop_grace_periods' not allowed|stop_grace_periods/);
  });

  it('refuses to start without the secrets (no default password)', () => {
    const result = load(['docker-compose.yml'], {});
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/required variable \w+ is missing a value|set (NATS_PASSWORD|CLICKHOUSE_PASSWORD|FLOODGATE_API_KEYS)/);
  });

  for (const [name, files, brokers] of [
    ['single broker', ['docker-compose.yml'], 1],
    ['3-broker profile', ['docker-compose.yml', 'kafka-3-brokers.yml'], 3],
  ] as const) {
    describe(name, () => {
      let project: any;
      beforeAll(() => {
        const result = load([...files]);
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        project = result.project;
      });

      it('gateway and sink get every setting they need, all known to the apps', () => {
        checkAppEnvironment('compose gateway', gatewaySchema, project.services.gateway.environment);
        checkAppEnvironment('compose sink', supervisorSchema, project.services.sink.environment);
      });

      it(`topics and brokers are at replication ${brokers === 3 ? '3, min ISR 2' : '1'}`, () => {
        for (const app of ['gateway', 'sink']) {
          const r = replicationOf(project.services[app].environment);
          expect(r, app).toEqual(brokers === 3 ? { brokers: 3, rf: 3, minIsr: 2 } : { brokers: 1, rf: 1, minIsr: 1 });
        }
        const kafka = Object.keys(project.services).filter((s) => s.startsWith('kafka-'));
        expect(kafka).toHaveLength(brokers);
        for (const broker of kafka) {
          const env = project.services[broker].environment;
          // The log directory is the volume: the apache/kafka image drops its defaults once configured.
          expect(env.KAFKA_LOG_DIRS, broker).toBe('/var/lib/kafka/data');
          expect(project.services[broker].volumes.map((v: any) => v.target), broker).toContain('/var/lib/kafka/data');
          expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS.split(','), broker).toHaveLength(brokers);
          expect(Number(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR), broker).toBe(brokers === 3 ? 3 : 1);
          expect(Number(env.KAFKA_DEFAULT_REPLICATION_FACTOR), broker).toBe(brokers === 3 ? 3 : 1);
          expect(Number(env.KAFKA_MIN_INSYNC_REPLICAS), broker).toBe(brokers === 3 ? 2 : 1);
          expect(Number(env.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR), broker).toBe(brokers === 3 ? 2 : 1);
        }
      });

      it('every service has a healthcheck or is only depended on as started; the collector gets its password', () => {
        for (const app of ['gateway', 'sink']) {
          expect(project.services[app].healthcheck?.test, app).toBeTruthy();
          for (const [dep, spec] of Object.entries<any>(project.services[app].depends_on)) {
            if (dep.startsWith('kafka') || dep === 'clickhouse' || dep === 'nats') expect(spec.condition, `${app} → ${dep}`).toBe('service_healthy');
          }
        }
        expect(project.services['otel-collector'].environment.CLICKHOUSE_PASSWORD).toBe(secrets.CLICKHOUSE_PASSWORD);
        expect(project.services.gateway.image).not.toMatch(/:latest$/);
      });
    });
  }
});

describe('deploy/kubernetes: schemas (Kubernetes API, KEDA and Prometheus Operator CRDs), environment, replication', () => {
  const documents = parseAllDocuments(readFileSync(path.join(REPO_ROOT, 'deploy/kubernetes/floodgate.yaml'), 'utf8')).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as { apiVersion: string; kind: string; metadata: { name: string } } & Record<string, any>;
  });
  const models: Record<string, new (data: any) => { validate(): void }> = {
    'v1/Namespace': Namespace,
    'v1/ConfigMap': ConfigMap,
    'v1/Secret': Secret,
    'v1/Service': Service,
    'apps/v1/Deployment': Deployment,
    'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
    'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
    'keda.sh/v1alpha1/ScaledObject': ScaledObject,
    'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  };
  const find = (kind: string, name: string) => {
    const doc = documents.find((d) => d.kind === kind && d.metadata.name === name);
    if (!doc) throw new Error(`no ${kind} ${name}`);
    return doc;
  };

  it('every document validates against its schema', () => {
    for (const doc of documents) {
      const Model = models[`${doc.apiVersion}/${doc.kind}`];
      expect(Model, `${doc.apiVersion}/${doc.kind} has no schema here`).toBeDefined();
      expect(() => new Model!(doc).validate(), `${doc.kind} ${doc.metadata.name}`).not.toThrow();
    }
  });

  it('the validator rejects a bad value (a KEDA trigger without metadata, a string replica count)', () => {
    expect(() => new ScaledObject({ ...find('ScaledObject', 'sink'), spec: { scaleTargetRef: { name: 'sink' }, triggers: [{ type: 'kafka' }] } } as any).validate()).toThrow(
      /metadata/,
    );
    expect(() => new Deployment({ ...find('Deployment', 'sink'), spec: { ...find('Deployment', 'sink').spec, replicas: 'three' } }).validate()).toThrow(/replicas/);
  });

  function containerEnv(deployment: string): Record<string, string> {
    const container = find('Deployment', deployment).spec.template.spec.containers[0];
    const env: Record<string, string> = {};
    for (const from of container.envFrom) {
      const source = from.configMapRef ? find('ConfigMap', from.configMapRef.name).data : find('Secret', from.secretRef.name).stringData;
      Object.assign(env, source);
    }
    for (const e of container.env) env[e.name] = e.value ?? 'from-the-downward-api';
    return env;
  }

  it('gateway and sink get every setting they need, all known to the apps; replication 3 / min ISR 2 on 3 brokers', () => {
    const gateway = containerEnv('gateway');
    const sink = containerEnv('sink');
    checkAppEnvironment('kubernetes gateway', gatewaySchema, gateway);
    checkAppEnvironment('kubernetes sink', sinkSchema, sink);
    expect(replicationOf(gateway)).toEqual({ brokers: 3, rf: 3, minIsr: 2 });
    expect(replicationOf(sink)).toEqual({ brokers: 3, rf: 3, minIsr: 2 });
  });

  it('both Deployments have probes, requests and limits, a pinned image and a grace period covering the drain; both have a PDB', () => {
    for (const [name, drainMs] of [['gateway', 'SHUTDOWN_TIMEOUT_MS'], ['sink', 'SINK_SHUTDOWN_TIMEOUT_MS']] as const) {
      const spec = find('Deployment', name).spec.template.spec;
      const container = spec.containers[0];
      expect(container.readinessProbe?.httpGet?.path, name).toBe('/readyz');
      expect(container.livenessProbe?.httpGet?.path, name).toBe('/healthz');
      expect(container.resources.requests.cpu && container.resources.limits.memory, name).toBeTruthy();
      expect(container.image, name).toMatch(/^floodgate:\d+\.\d+\.\d+$/);
      const drainSeconds = Number(containerEnv(name)[drainMs]) / 1000;
      expect(spec.terminationGracePeriodSeconds, name).toBeGreaterThanOrEqual(drainSeconds + 10);
      expect(find('PodDisruptionBudget', name).spec.selector.matchLabels.app, name).toBe(`floodgate-${name}`);
    }
  });

  it('KEDA scales the sink on the lag of the group and topic the sink really uses; Prometheus scrapes with the admin token', () => {
    const config = find('ConfigMap', 'floodgate-config').data;
    const trigger = find('ScaledObject', 'sink').spec.triggers[0];
    expect(trigger.type).toBe('kafka');
    expect(trigger.metadata).toMatchObject({ bootstrapServers: config.KAFKA_BROKERS, consumerGroup: config.SINK_GROUP_ID, topic: config.KAFKA_TOPIC });
    expect(find('ScaledObject', 'sink').spec.maxReplicaCount).toBeLessThanOrEqual(Number(config.KAFKA_PARTITIONS));
    const endpoint = find('ServiceMonitor', 'floodgate').spec.endpoints[0];
    expect(endpoint.authorization.credentials).toEqual({ name: 'floodgate-secrets', key: 'FLOODGATE_ADMIN_TOKEN' });
    expect(JSON.stringify(documents)).not.toContain('prometheus.io/scrape');
  });
});
