/**
 * The local Kafka: Apache Kafka's jars from Maven Central (fetched once by `mvn` into the cache),
 * run by the machine's Java as one KRaft broker+controller, or (KAFKA_LOCAL_BROKERS=3) as three
 * broker+controllers that form one controller quorum and replicate every topic three times.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { FloodgateError } from '@floodgate/errors';
import { formatHostPort, type HostPort } from './address.ts';
import { REPO_ROOT } from './paths.ts';
import { runLogged } from './procs.ts';
import { findExecutable } from './tools.ts';

const execFileAsync = promisify(execFile);

export const KAFKA_VERSION = '4.1.1';
export const KAFKA_POM = path.join(REPO_ROOT, 'deploy', 'local', 'kafka', 'pom.xml');
const COMPLETE_MARKER = '.complete.json';

export interface KafkaPropertiesInput {
  /** Where the broker listens and what it advertises (host as the client should use it). */
  broker: HostPort;
  /** The address the listeners bind to (an IP). */
  bindHost: string;
  controllerPort: number;
  logDir: string;
  partitions: number;
  /** Set for a member of a local multi-broker cluster; absent: the single node (node.id 1). */
  cluster?: KafkaClusterMember;
}

export interface KafkaClusterMember {
  nodeId: number;
  /** Every controller of the quorum, this one included. */
  voters: { nodeId: number; host: string; port: number }[];
  /** Replication of the internal topics (offsets, transactions) and the broker default. */
  replicationFactor: number;
  minInsyncReplicas: number;
}

/** A .properties value: backslashes escaped, line breaks refused. */
function propertyValue(value: string): string {
  if (/[\r\n]/.test(value)) throw new FloodgateError('CONFIG_INVALID', `a Kafka setting may not contain a line break: ${JSON.stringify(value)}`);
  return value.replace(/\\/g, '\\\\');
}

/**
 * server.properties for a KRaft broker+controller: the single node with replication factors of 1,
 * or one member of a local cluster (`cluster`), whose internal topics are replicated and whose
 * topics default to the cluster's replication factor and min.insync.replicas.
 */
export function renderServerProperties(input: KafkaPropertiesInput): string {
  const bind = formatHostPort({ host: input.bindHost, port: input.broker.port });
  const controller = formatHostPort({ host: input.bindHost, port: input.controllerPort });
  const advertised = formatHostPort(input.broker);
  const c = input.cluster;
  const voters = c ? c.voters.map((v) => `${v.nodeId}@${formatHostPort(v)}`).join(',') : `1@${controller}`;
  const rf = c?.replicationFactor ?? 1;
  const settings: [string, string | number][] = [
    ['process.roles', 'broker,controller'],
    ['node.id', c?.nodeId ?? 1],
    ['controller.quorum.voters', voters],
    ['listeners', `PLAINTEXT://${bind},CONTROLLER://${controller}`],
    ['advertised.listeners', `PLAINTEXT://${advertised}`],
    ['controller.listener.names', 'CONTROLLER'],
    ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT'],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['log.dirs', input.logDir],
    ['num.partitions', input.partitions],
    ['offsets.topic.replication.factor', rf],
    ['offsets.topic.num.partitions', 6],
    ['transaction.state.log.replication.factor', rf],
    ['transaction.state.log.min.isr', c?.minInsyncReplicas ?? 1],
    // Topics created without explicit settings (the apps set both explicitly from config).
    ...(c
      ? ([
          ['default.replication.factor', c.replicationFactor],
          ['min.insync.replicas', c.minInsyncReplicas],
        ] as [string, number][])
      : []),
    ['group.initial.rebalance.delay.ms', 0],
    ['log.cleaner.dedupe.buffer.size', 16 * 1024 * 1024],
    ['auto.create.topics.enable', 'false'],
  ];
  return [
    '# Written by `floodgate stack up` on every start; edits here are overwritten.',
    ...settings.map(([key, value]) => `${key}=${propertyValue(String(value))}`),
    '',
  ].join('\n');
}

/** log4j2 configuration: everything at INFO to stdout, which `stack up` appends to logs/kafka.log. */
export function renderLog4j2Yaml(): string {
  return [
    '# Written by `floodgate stack up`. stdout goes to $FLOODGATE_HOME/logs/kafka.log.',
    'Configuration:',
    '  Appenders:',
    '    Console:',
    '      name: STDOUT',
    '      target: SYSTEM_OUT',
    '      PatternLayout:',
    '        pattern: "[%d] %p %m (%c)%n"',
    '  Loggers:',
    '    Root:',
    '      level: INFO',
    '      AppenderRef:',
    '        - ref: STDOUT',
    '    Logger:',
    '      - name: kafka.request.logger',
    '        level: WARN',
    '        additivity: false',
    '        AppenderRef:',
    '          - ref: STDOUT',
    '',
  ].join('\n');
}

/** The major version from `java -version` output: `openjdk version "17.0.15"` → 17, `"1.8.0_392"` → 8. */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(versionOutput);
  if (!m) return undefined;
  const first = Number(m[1]);
  return first === 1 && m[2] !== undefined ? Number(m[2]) : first;
}

/** The `java` to use, checked to be 17 or newer. */
export async function findJava(): Promise<string> {
  const java = findExecutable('java');
  if (!java) {
    throw new FloodgateError('STACK_DEPENDENCY_MISSING', 'java is not installed (Kafka needs Java 17 or newer); run `bash deploy/local/bootstrap.sh`');
  }
  const { stderr, stdout } = await execFileAsync(java, ['-version']);
  const major = parseJavaMajor(`${stderr}\n${stdout}`);
  if (major === undefined || major < 17) {
    throw new FloodgateError('STACK_DEPENDENCY_MISSING', `${java} is Java ${major ?? '(unknown version)'}; Kafka ${KAFKA_VERSION} needs Java 17 or newer`);
  }
  return java;
}

function pomDigest(): string {
  return createHash('sha256').update(readFileSync(KAFKA_POM)).digest('hex');
}

/** The jar folder if a previous fetch completed for the current pom, else undefined. */
export function cachedKafkaLibs(cacheDir: string): string | undefined {
  const libs = path.join(cacheDir, `kafka-${KAFKA_VERSION}`, 'libs');
  try {
    const marker = JSON.parse(readFileSync(path.join(libs, COMPLETE_MARKER), 'utf8')) as { pom: string; jars: string[] };
    if (marker.pom !== pomDigest()) return undefined;
    if (!marker.jars.includes(`kafka_2.13-${KAFKA_VERSION}.jar`)) return undefined;
    if (!marker.jars.every((jar) => existsSync(path.join(libs, jar)))) return undefined;
    return libs;
  } catch {
    return undefined;
  }
}

/**
 * Kafka's jars in `<cache>/kafka-<version>/libs`, fetched by `mvn` from Maven Central the first time
 * (and again if the pom changes). The fetch goes to a temporary folder renamed into place, so an
 * interrupted fetch never looks complete.
 */
export function ensureKafkaJars(cacheDir: string, logFile: string, say: (line: string) => void): Promise<string> {
  // The brokers of a local cluster prepare concurrently in one process: they share one fetch, or
  // they would all fetch into the same temporary folder (named by this pid) at once.
  const key = path.resolve(cacheDir);
  let fetch = jarFetches.get(key);
  if (!fetch) {
    fetch = fetchKafkaJars(cacheDir, logFile, say).finally(() => jarFetches.delete(key));
    jarFetches.set(key, fetch);
  }
  return fetch;
}

const jarFetches = new Map<string, Promise<string>>();

async function fetchKafkaJars(cacheDir: string, logFile: string, say: (line: string) => void): Promise<string> {
  const cached = cachedKafkaLibs(cacheDir);
  if (cached) return cached;
  const versionDir = path.join(cacheDir, `kafka-${KAFKA_VERSION}`);
  const libs = path.join(versionDir, 'libs');
  say(`kafka: fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central (once; log: ${logFile})`);
  await fetchIntoPlace({
    what: 'the Kafka jars',
    into: libs,
    logFile,
    mvnArgs: (outputDir) => ['-f', KAFKA_POM, 'dependency:copy-dependencies', `-DoutputDirectory=${outputDir}`, '-DincludeScope=runtime'],
    complete: (outputDir) => {
      const jars = readdirSync(outputDir).filter((f) => f.endsWith('.jar')).sort();
      writeFileSync(path.join(outputDir, COMPLETE_MARKER), `${JSON.stringify({ pom: pomDigest(), version: KAFKA_VERSION, jars }, null, 2)}\n`);
    },
  });
  if (!cachedKafkaLibs(cacheDir)) throw new FloodgateError('STACK_DEPENDENCY_MISSING', `the Kafka jar fetch did not produce kafka_2.13-${KAFKA_VERSION}.jar; see ${logFile}`);
  return libs;
}

/** `-cp` value: Java expands the `*` itself, so no shell is involved. */
export function kafkaClasspath(libs: string): string {
  return `${libs}${path.sep}*`;
}

/**
 * Formats the KRaft storage once: a fresh cluster id from StorageTool, then `format`. Skipped when
 * the log dir already holds meta.properties.
 */
export async function ensureKafkaStorage(
  java: string,
  libs: string,
  propertiesFile: string,
  log4jFile: string,
  logDir: string,
  logFile: string,
  /** The cluster id every member of a multi-broker cluster shares; absent: a fresh one. */
  givenClusterId?: string,
): Promise<boolean> {
  if (existsSync(path.join(logDir, 'meta.properties'))) return false;
  mkdirSync(logDir, { recursive: true });
  const jvm = ['-Xmx256m', `-Dlog4j2.configurationFile=${log4jFile}`, '-cp', kafkaClasspath(libs), 'kafka.tools.StorageTool'];
  let clusterId = givenClusterId ?? '';
  if (givenClusterId === undefined) {
    const { stdout } = await execFileAsync(java, [...jvm, 'random-uuid']).catch((cause: Error) => {
      throw new FloodgateError('STACK_START_FAILED', `kafka: StorageTool random-uuid failed: ${cause.message.split('\n')[0]}`, { cause });
    });
    clusterId = stdout.trim().split('\n').pop()?.trim() ?? '';
  }
  if (!/^[A-Za-z0-9_-]{22}$/.test(clusterId)) {
    throw new FloodgateError('STACK_START_FAILED', `kafka: ${JSON.stringify(clusterId)} is not a cluster id`);
  }
  await runLogged('formatting the Kafka storage', { command: java, args: [...jvm, 'format', '-t', clusterId, '-c', propertiesFile], cwd: logDir, env: process.env }, logFile, 120_000);
  return true;
}

/**
 * Kafka's own tools jar (`org.apache.kafka:kafka-tools`, the broker's version) for `floodgate bench
 * ceiling`'s ProducerPerformance: fetched once by `mvn` from Maven Central next to the broker's
 * jars (whose libs it runs with, so only the jar itself is fetched), through a temporary folder
 * renamed into place so an interrupted fetch never looks complete.
 */
export async function ensureKafkaToolsJar(cacheDir: string, logFile: string, say: (line: string) => void): Promise<string> {
  const dir = path.join(cacheDir, `kafka-${KAFKA_VERSION}`, 'tools');
  const jar = path.join(dir, `kafka-tools-${KAFKA_VERSION}.jar`);
  if (existsSync(jar)) return jar;
  say(`kafka: fetching org.apache.kafka:kafka-tools:${KAFKA_VERSION} from Maven Central (once; log: ${logFile})`);
  await fetchIntoPlace({
    what: 'the kafka-tools jar',
    into: dir,
    logFile,
    mvnArgs: (outputDir) => ['dependency:copy', `-Dartifact=org.apache.kafka:kafka-tools:${KAFKA_VERSION}`, `-DoutputDirectory=${outputDir}`, '-Dtransitive=false'],
    complete: (outputDir) => {
      if (!existsSync(path.join(outputDir, `kafka-tools-${KAFKA_VERSION}.jar`))) {
        throw new FloodgateError('STACK_DEPENDENCY_MISSING', `the fetch did not produce kafka-tools-${KAFKA_VERSION}.jar; see ${logFile}`);
      }
    },
  });
  return jar;
}

/**
 * The cluster id of a local multi-broker cluster, created once in `file` (16 random bytes, base64url:
 * the form StorageTool's random-uuid prints) and read back by every member, so that all three
 * brokers format their storage for the same cluster. `wx` makes concurrent first starts agree.
 */
export function sharedClusterId(file: string): string {
  try {
    writeFileSync(file, `${newClusterId()}\n`, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readFileSync(file, 'utf8').trim();
}

/**
 * 16 random bytes as base64url, never starting with '-': StorageTool's `-t <id>` would take such an
 * id for an option ("argument --cluster-id/-t: expected one argument"); Kafka's own Uuid.randomUuid
 * draws again for the same reason.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * Fetches with `mvn` into a temporary folder next to `into` and renames it into place only when
 * `complete` accepts it, so an interrupted fetch never looks complete; the folder is named by this
 * pid, so two processes never share it.
 */
async function fetchIntoPlace(o: {
  what: string;
  into: string;
  logFile: string;
  mvnArgs: (outputDir: string) => string[];
  complete: (outputDir: string) => void;
}): Promise<void> {
  const mvn = findExecutable('mvn');
  if (!mvn) {
    throw new FloodgateError('STACK_DEPENDENCY_MISSING', `mvn is not installed (needed once to fetch ${o.what}); run \`bash deploy/local/bootstrap.sh\``);
  }
  const tmp = `${o.into}.fetch-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await runLogged(
      `fetching ${o.what} with mvn`,
      { command: mvn, args: ['-B', '-q', '-Dstyle.color=never', ...o.mvnArgs(tmp)], cwd: REPO_ROOT, env: process.env },
      o.logFile,
      10 * 60_000,
    );
    o.complete(tmp);
    rmSync(o.into, { recursive: true, force: true });
    renameSync(tmp, o.into);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    if (error instanceof FloodgateError) throw new FloodgateError('STACK_DEPENDENCY_MISSING', error.message, { cause: error });
    throw error;
  }
}
