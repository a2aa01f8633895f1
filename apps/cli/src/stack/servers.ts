/**
 * The three servers of the local stack, each described as a plan: where clients reach it, whether
 * the configuration points at a server someone else runs, which ports we would bind, how to tell
 * our process from any other, how to check it, and how to start it.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { clickhouseUrl, natsAuth, readStackCredentials, STACK_CREDENTIALS_FILE as CREDENTIALS_FILE, isLoopbackHost, type StackConfig, type StackCredentials } from '@floodgate/config';
import { FloodgateError, isFloodgateError } from '@floodgate/errors';
import { bindHost, formatHostPort, type HostPort, natsUrlHasCredentials, parseHostPort, parseNatsServers, redactUrl } from './address.ts';
import { checkClickHouse, checkKafka, checkNats, clickhouseAnswersAnonymously } from './health.ts';
import { ensureKafkaJars, ensureKafkaStorage, findJava, kafkaClasspath, renderLog4j2Yaml, renderServerProperties, sharedClusterId, type KafkaClusterMember } from './kafka.ts';
import { REPO_ROOT, stackPaths, type ServerName } from './paths.ts';
import type { SpawnSpec } from './procs.ts';
import { findExecutable } from './tools.ts';

export interface Bind {
  host: string;
  port: number;
  /** What the port is for and which setting moves it, for messages. */
  role: string;
}

export interface ServerPlan {
  name: ServerName;
  /** Where clients reach it, fit for printing (no credentials). */
  address: string;
  /** Set when the configuration names a server we must never start; says why. */
  configuredExternal?: string;
  /** Ports we would listen on; the first one is the one clients use. */
  binds: Bind[];
  pidFile: string;
  logFile: string;
  /** How long a SIGTERM gets before SIGKILL. */
  stopGraceMs: number;
  /** True when a command line is the one we start for this FLOODGATE_HOME. */
  isOurs(argv: string[]): boolean;
  /** One readiness attempt; rejects with the reason it is not ready. Resolves with a warning, if any. */
  check(timeoutMs: number): Promise<string | undefined>;
  /** Everything needed before the start (jars, config files, storage); returns what to run. */
  prepare(say: (line: string) => void): Promise<SpawnSpec>;
  /**
   * For a server of ours that is running: why it must be restarted to run as configured now (it was
   * started before `stack up` generated credentials, so it accepts anyone), or undefined.
   */
  staleReason?(timeoutMs: number): Promise<string | undefined>;
}

export const CHDB_SERVER_ENTRY = 'apps/chdb-server/src/main.ts';

/** One local Kafka broker (a KRaft broker+controller) as `stack up` runs it. */
interface KafkaBrokerSpec {
  name: ServerName;
  /** What `stack status` shows and the health check asks. */
  addresses: readonly string[];
  broker: HostPort;
  controllerPort: number;
  binds: Bind[];
  /** JVM heap flags: three brokers on one small machine get smaller heaps than one. */
  heap: readonly string[];
  cluster?: KafkaClusterMember;
  /** The id every member of a cluster formats its storage with; unset: a random one. */
  clusterId?: () => string;
  configuredExternal?: string;
}

function kafkaBrokerPlan(config: StackConfig, spec: KafkaBrokerSpec): ServerPlan {
  const paths = stackPaths(config.FLOODGATE_HOME, config.FLOODGATE_CACHE);
  const configDir = path.join(paths.config, spec.name);
  const propertiesFile = path.join(configDir, 'server.properties');
  const log4jFile = path.join(configDir, 'log4j2.yaml');
  const logDir = path.join(paths.data, spec.name);
  const logFile = paths.logFile(spec.name);
  const host = bindHost(spec.broker.host);
  return {
    name: spec.name,
    address: spec.addresses.join(','),
    ...(spec.configuredExternal ? { configuredExternal: spec.configuredExternal } : {}),
    binds: spec.binds,
    pidFile: paths.pidFile(spec.name),
    logFile,
    stopGraceMs: 30_000,
    isOurs: (argv) => argv.includes('kafka.Kafka') && argv.includes(propertiesFile),
    check: async (timeoutMs) => {
      await checkKafka([...spec.addresses], timeoutMs);
      return undefined;
    },
    prepare: async (say) => {
      const java = await findJava();
      const libs = await ensureKafkaJars(paths.cache, paths.logFile('kafka-fetch'), say);
      mkdirSync(configDir, { recursive: true });
      writeFileSync(
        propertiesFile,
        renderServerProperties({
          broker: spec.broker,
          bindHost: host,
          controllerPort: spec.controllerPort,
          logDir,
          partitions: config.KAFKA_PARTITIONS,
          ...(spec.cluster ? { cluster: spec.cluster } : {}),
        }),
      );
      writeFileSync(log4jFile, renderLog4j2Yaml());
      mkdirSync(paths.data, { recursive: true });
      if (await ensureKafkaStorage(java, libs, propertiesFile, log4jFile, logDir, logFile, spec.clusterId?.())) {
        say(`${spec.name}: formatted new KRaft storage in ${logDir}`);
      }
      return {
        command: java,
        args: [
          ...spec.heap,
          '-XX:+ExitOnOutOfMemoryError',
          `-XX:ErrorFile=${path.join(paths.logs, `${spec.name}-hs_err_%p.log`)}`,
          `-Dlog4j2.configurationFile=${log4jFile}`,
          '-cp',
          kafkaClasspath(libs),
          'kafka.Kafka',
          propertiesFile,
        ],
        cwd: paths.logs,
        env: process.env,
      };
    },
  };
}

function kafkaPlan(config: StackConfig): ServerPlan {
  const brokers = config.KAFKA_BROKERS;
  const first = parseHostPort(brokers[0]!, 'KAFKA_BROKERS', 9092);
  const local = brokers.length === 1 && isLoopbackHost(first.host);
  const controllerPort = config.KAFKA_CONTROLLER_PORT ?? first.port + 1;
  if (local && controllerPort > 65535) {
    throw new FloodgateError('CONFIG_INVALID', `KAFKA_CONTROLLER_PORT: broker port ${first.port} + 1 is out of range; set KAFKA_CONTROLLER_PORT`);
  }
  if (local && controllerPort === first.port) {
    throw new FloodgateError('CONFIG_INVALID', `KAFKA_CONTROLLER_PORT: ${controllerPort} is also the broker port (KAFKA_BROKERS)`);
  }
  const host = bindHost(first.host);
  return kafkaBrokerPlan(config, {
    name: 'kafka',
    addresses: brokers,
    broker: first,
    controllerPort,
    binds: [
      { host, port: first.port, role: 'Kafka broker port (KAFKA_BROKERS)' },
      { host, port: controllerPort, role: 'Kafka controller port (KAFKA_CONTROLLER_PORT, default broker port + 1)' },
    ],
    heap: ['-Xmx512m', '-Xms256m'],
    ...(local ? {} : { configuredExternal: brokers.length > 1 ? 'KAFKA_BROKERS names several brokers' : 'KAFKA_BROKERS is not on this machine' }),
  });
}

/**
 * KAFKA_LOCAL_BROKERS=3: three broker+controllers `kafka-1`..`kafka-3` on the brokers KAFKA_BROKERS
 * lists (each controller on its broker port + 1), one quorum of the three controllers, storage
 * formatted with one shared cluster id, and replication from KAFKA_REPLICATION_FACTOR /
 * KAFKA_MIN_INSYNC_REPLICAS (3 / 2 by default in this mode). Each broker is a plan of its own, so
 * one can be stopped and `stack up` starts just that one again.
 */
function kafkaClusterPlans(config: StackConfig): ServerPlan[] {
  const paths = stackPaths(config.FLOODGATE_HOME, config.FLOODGATE_CACHE);
  const count = config.KAFKA_LOCAL_BROKERS;
  const brokers = config.KAFKA_BROKERS.map((b) => parseHostPort(b, 'KAFKA_BROKERS', 9092));
  if (brokers.length !== count) {
    throw new FloodgateError('CONFIG_INVALID', `KAFKA_BROKERS: KAFKA_LOCAL_BROKERS=${count} needs ${count} brokers listed, got ${brokers.length}`);
  }
  const external = brokers.find((b) => !isLoopbackHost(b.host));
  if (external) throw new FloodgateError('CONFIG_INVALID', `KAFKA_BROKERS: ${formatHostPort(external)} is not on this machine; KAFKA_LOCAL_BROKERS=${count} runs every broker here`);
  if (config.KAFKA_REPLICATION_FACTOR > count) {
    throw new FloodgateError('CONFIG_INVALID', `KAFKA_REPLICATION_FACTOR: ${config.KAFKA_REPLICATION_FACTOR} exceeds the ${count} local brokers`);
  }
  const taken = new Set<number>();
  for (const b of brokers) {
    for (const port of [b.port, b.port + 1]) {
      if (port > 65535 || taken.has(port)) {
        throw new FloodgateError('CONFIG_INVALID', `KAFKA_BROKERS: port ${port} (a broker port or a broker port + 1, its controller) is out of range or used twice`);
      }
      taken.add(port);
    }
  }
  const voters = brokers.map((b, i) => ({ nodeId: i + 1, host: bindHost(b.host), port: b.port + 1 }));
  const clusterIdFile = path.join(paths.data, 'kafka-cluster.id');
  return brokers.map((broker, i): ServerPlan => {
    const nodeId = i + 1;
    const host = bindHost(broker.host);
    return kafkaBrokerPlan(config, {
      name: `kafka-${nodeId}`,
      addresses: [formatHostPort(broker)],
      broker,
      controllerPort: broker.port + 1,
      binds: [
        { host, port: broker.port, role: `Kafka broker ${nodeId} port (KAFKA_BROKERS)` },
        { host, port: broker.port + 1, role: `Kafka controller ${nodeId} port (its broker port + 1)` },
      ],
      heap: ['-Xmx384m', '-Xms128m'],
      cluster: { nodeId, voters, replicationFactor: config.KAFKA_REPLICATION_FACTOR, minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS },
      clusterId: () => sharedClusterId(clusterIdFile),
    });
  });
}

/** nats-server's config file: only the authorization block; everything else is on the command line. */
export function renderNatsAuthConf(user: string, password: string): string {
  const quote = (v: string) => JSON.stringify(v); // nats-server reads JSON-style strings
  return `# Written by \`floodgate stack up\` from ../../credentials.json; do not edit.\nauthorization {\n  user: ${quote(user)}\n  password: ${quote(password)}\n}\n`;
}

function natsPlan(config: StackConfig, credentials: StackCredentials | undefined): ServerPlan {
  const paths = stackPaths(config.FLOODGATE_HOME, config.FLOODGATE_CACHE);
  const servers = parseNatsServers(config.NATS_URL);
  const first = servers[0]!;
  const scheme = /^([a-z]+):\/\//i.exec(config.NATS_URL.trim())?.[1]?.toLowerCase() ?? 'nats';
  let configuredExternal: string | undefined;
  if (servers.length > 1) configuredExternal = 'NATS_URL names several servers';
  else if (!isLoopbackHost(first.host)) configuredExternal = 'NATS_URL is not on this machine';
  else if (natsUrlHasCredentials(config.NATS_URL)) configuredExternal = 'NATS_URL carries credentials';
  else if (scheme !== 'nats') configuredExternal = `NATS_URL uses ${scheme}://`;
  else {
    // Credentials other than this home's generated ones belong to a server someone else runs: one we
    // started would not know them (as with credentials in NATS_URL).
    const auth = natsAuth(config);
    const own = credentials ?? readStackCredentials(config.FLOODGATE_HOME);
    const isOwn = auth.kind === 'user' && own !== undefined && auth.user === own.NATS_USER && auth.password === own.NATS_PASSWORD;
    if (auth.kind !== 'none' && !isOwn) configuredExternal = `NATS credentials are set (${auth.kind === 'creds' ? 'NATS_CREDS_FILE' : auth.source})`;
  }
  const storeDir = path.join(paths.data, 'nats');
  const authConf = path.join(paths.config, 'nats', 'auth.conf');
  const host = bindHost(first.host);
  const binds: Bind[] = [{ host, port: first.port, role: 'NATS client port (NATS_URL)' }];
  if (config.NATS_MONITOR_PORT > 0) binds.push({ host, port: config.NATS_MONITOR_PORT, role: 'NATS monitoring port (NATS_MONITOR_PORT)' });
  return {
    name: 'nats',
    address: servers.map(formatHostPort).join(','),
    ...(configuredExternal ? { configuredExternal } : {}),
    binds,
    pidFile: paths.pidFile('nats'),
    logFile: paths.logFile('nats'),
    stopGraceMs: 10_000,
    isOurs: (argv) => path.basename(argv[0] ?? '') === 'nats-server' && argv.includes(storeDir),
    check: async (timeoutMs) => {
      const { jetstream } = await checkNats(config, timeoutMs);
      return jetstream ? undefined : 'JetStream is not enabled on this server (membership and KV need it)';
    },
    staleReason: async (timeoutMs) => {
      if (!credentials) return undefined;
      try {
        const { authRequired } = await checkNats(config, timeoutMs);
        return authRequired ? undefined : 'it runs without authorization (started before credentials were generated)';
      } catch (error) {
        if (isFloodgateError(error) && error.code === 'NATS_AUTH_FAILED') return `it refuses the credentials in ${CREDENTIALS_FILE} (started with others)`;
        throw error;
      }
    },
    prepare: async () => {
      const natsServer = findExecutable('nats-server');
      if (!natsServer) {
        throw new FloodgateError('STACK_DEPENDENCY_MISSING', 'nats-server is not installed; run `bash deploy/local/bootstrap.sh` (Debian package nats-server)');
      }
      mkdirSync(storeDir, { recursive: true });
      const args = ['-a', host, '-p', String(first.port), '-js', '-sd', storeDir];
      if (credentials) {
        // The password goes into a 0600 file, not onto the command line where `ps` shows it.
        mkdirSync(path.dirname(authConf), { recursive: true });
        writeFileSync(authConf, renderNatsAuthConf(credentials.NATS_USER, credentials.NATS_PASSWORD), { mode: 0o600 });
        chmodSync(authConf, 0o600);
        args.unshift('-c', authConf);
      }
      if (config.NATS_MONITOR_PORT > 0) args.push('-m', String(config.NATS_MONITOR_PORT));
      return { command: natsServer, args, cwd: storeDir, env: process.env };
    },
  };
}

function clickhousePlan(config: StackConfig, credentials: StackCredentials | undefined): ServerPlan {
  const paths = stackPaths(config.FLOODGATE_HOME, config.FLOODGATE_CACHE);
  const url = clickhouseUrl(config);
  const dataDir = path.join(paths.data, 'clickhouse');
  // Harmless for the server (where Node would write diagnostic reports) and it puts our
  // FLOODGATE_HOME into the command line, which is how we recognise our process later.
  const marker = `--diagnostic-dir=${paths.logs}`;
  return {
    name: 'clickhouse',
    address: redactUrl(url),
    ...(config.CLICKHOUSE_URL !== undefined ? { configuredExternal: 'CLICKHOUSE_URL is set' } : {}),
    binds: [{ host: '127.0.0.1', port: config.CLICKHOUSE_EMBEDDED_PORT, role: 'embedded ClickHouse port (CLICKHOUSE_EMBEDDED_PORT)' }],
    pidFile: paths.pidFile('clickhouse'),
    logFile: paths.logFile('clickhouse'),
    stopGraceMs: 15_000,
    isOurs: (argv) => argv.includes(marker) && argv.some((a) => a.endsWith(CHDB_SERVER_ENTRY)),
    check: async (timeoutMs) => {
      await checkClickHouse(url, config.CLICKHOUSE_USER, config.CLICKHOUSE_PASSWORD, timeoutMs);
      return undefined;
    },
    staleReason: async (timeoutMs) => {
      if (!credentials) return undefined;
      const anonymous = await clickhouseAnswersAnonymously(url, timeoutMs);
      if (anonymous === 200) return 'it answers queries without credentials (started before credentials were generated)';
      if (anonymous === 401 || anonymous === 403) {
        const refused = await checkClickHouse(url, config.CLICKHOUSE_USER, config.CLICKHOUSE_PASSWORD, timeoutMs).then(
          () => false,
          (error: unknown) => /AUTHENTICATION_FAILED|Authentication failed/.test(String((error as Error).message)),
        );
        if (refused) return `it refuses the credentials in ${CREDENTIALS_FILE} (started with others)`;
      }
      return undefined;
    },
    prepare: async () => {
      if (!existsSync(path.join(REPO_ROOT, CHDB_SERVER_ENTRY))) {
        throw new FloodgateError('STACK_DEPENDENCY_MISSING', `the embedded ClickHouse endpoint ${CHDB_SERVER_ENTRY} is missing; set CLICKHOUSE_URL to use a ClickHouse server instead`);
      }
      mkdirSync(dataDir, { recursive: true });
      return {
        command: process.execPath,
        args: [marker, '--import', 'tsx', CHDB_SERVER_ENTRY],
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          CHDB_SERVER_HOST: '127.0.0.1',
          CHDB_SERVER_PORT: String(config.CLICKHOUSE_EMBEDDED_PORT),
          CHDB_DATA_DIR: dataDir,
          ...(credentials ? { CHDB_SERVER_USER: credentials.CLICKHOUSE_USER, CHDB_SERVER_PASSWORD: credentials.CLICKHOUSE_PASSWORD } : {}),
        },
      };
    },
  };
}

/**
 * `credentials`: the ones this home's `stack up` generated; the NATS and ClickHouse we start demand
 * them. Undefined (status, down, or a home without them): servers are described, not configured.
 */
export function serverPlans(config: StackConfig, credentials?: StackCredentials): ServerPlan[] {
  const kafka = config.KAFKA_LOCAL_BROKERS > 1 ? kafkaClusterPlans(config) : [kafkaPlan(config)];
  return [...kafka, natsPlan(config, credentials), clickhousePlan(config, credentials)];
}
