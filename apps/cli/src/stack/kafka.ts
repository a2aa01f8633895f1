/**
 * The local Kafka: Apache Kafka's jars from Maven Central (fetched once by `mvn` into the cache),
 * run by the machine's Java as one KRaft broker+controller.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
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
}

/** A .properties value: backslashes escaped, line breaks refused. */
function propertyValue(value: string): string {
  if (/[\r\n]/.test(value)) throw new FloodgateError('CONFIG_INVALID', `a Kafka setting may not contain a line break: ${JSON.stringify(value)}`);
  return value.replace(/\\/g, '\\\\');
}

/** server.properties for a single-node KRaft broker+controller with replication factors of 1. */
export function renderServerProperties(input: KafkaPropertiesInput): string {
  const bind = formatHostPort({ host: input.bindHost, port: input.broker.port });
  const controller = formatHostPort({ host: input.bindHost, port: input.controllerPort });
  const advertised = formatHostPort(input.broker);
  const settings: [string, string | number][] = [
    ['process.roles', 'broker,controller'],
    ['node.id', 1],
    ['controller.quorum.voters', `1@${controller}`],
    ['listeners', `PLAINTEXT://${bind},CONTROLLER://${controller}`],
    ['advertised.listeners', `PLAINTEXT://${advertised}`],
    ['controller.listener.names', 'CONTROLLER'],
    ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT'],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['log.dirs', input.logDir],
    ['num.partitions', input.partitions],
    ['offsets.topic.replication.factor', 1],
    ['offsets.topic.num.partitions', 6],
    ['transaction.state.log.replication.factor', 1],
    ['transaction.state.log.min.isr', 1],
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
export async function ensureKafkaJars(cacheDir: string, logFile: string, say: (line: string) => void): Promise<string> {
  const cached = cachedKafkaLibs(cacheDir);
  if (cached) return cached;
  const mvn = findExecutable('mvn');
  if (!mvn) {
    throw new FloodgateError('STACK_DEPENDENCY_MISSING', 'mvn is not installed (needed once to fetch the Kafka jars); run `bash deploy/local/bootstrap.sh`');
  }
  const versionDir = path.join(cacheDir, `kafka-${KAFKA_VERSION}`);
  const libs = path.join(versionDir, 'libs');
  const tmp = path.join(versionDir, `libs.fetch-${process.pid}`);
  mkdirSync(versionDir, { recursive: true });
  rmSync(tmp, { recursive: true, force: true });
  say(`kafka: fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central (once; log: ${logFile})`);
  try {
    await runLogged(
      'fetching the Kafka jars with mvn',
      {
        command: mvn,
        args: ['-B', '-q', '-Dstyle.color=never', '-f', KAFKA_POM, 'dependency:copy-dependencies', `-DoutputDirectory=${tmp}`, '-DincludeScope=runtime'],
        cwd: REPO_ROOT,
        env: process.env,
      },
      logFile,
      10 * 60_000,
    );
    const jars = readdirSync(tmp).filter((f) => f.endsWith('.jar')).sort();
    writeFileSync(path.join(tmp, COMPLETE_MARKER), `${JSON.stringify({ pom: pomDigest(), version: KAFKA_VERSION, jars }, null, 2)}\n`);
    rmSync(libs, { recursive: true, force: true });
    renameSync(tmp, libs);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    if (error instanceof FloodgateError) throw new FloodgateError('STACK_DEPENDENCY_MISSING', error.message, { cause: error });
    throw error;
  }
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
export async function ensureKafkaStorage(java: string, libs: string, propertiesFile: string, log4jFile: string, logDir: string, logFile: string): Promise<boolean> {
  if (existsSync(path.join(logDir, 'meta.properties'))) return false;
  mkdirSync(logDir, { recursive: true });
  const jvm = ['-Xmx256m', `-Dlog4j2.configurationFile=${log4jFile}`, '-cp', kafkaClasspath(libs), 'kafka.tools.StorageTool'];
  const { stdout } = await execFileAsync(java, [...jvm, 'random-uuid']).catch((cause: Error) => {
    throw new FloodgateError('STACK_START_FAILED', `kafka: StorageTool random-uuid failed: ${cause.message.split('\n')[0]}`, { cause });
  });
  const clusterId = stdout.trim().split('\n').pop()?.trim() ?? '';
  if (!/^[A-Za-z0-9_-]{22}$/.test(clusterId)) {
    throw new FloodgateError('STACK_START_FAILED', `kafka: StorageTool random-uuid printed ${JSON.stringify(stdout.trim())}, not a cluster id`);
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
  const mvn = findExecutable('mvn');
  if (!mvn) {
    throw new FloodgateError('STACK_DEPENDENCY_MISSING', 'mvn is not installed (needed once to fetch the kafka-tools jar); run `bash deploy/local/bootstrap.sh`');
  }
  const tmp = path.join(cacheDir, `kafka-${KAFKA_VERSION}`, `tools.fetch-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  say(`kafka: fetching org.apache.kafka:kafka-tools:${KAFKA_VERSION} from Maven Central (once; log: ${logFile})`);
  try {
    await runLogged(
      'fetching the kafka-tools jar with mvn',
      {
        command: mvn,
        args: ['-B', '-q', '-Dstyle.color=never', 'dependency:copy', `-Dartifact=org.apache.kafka:kafka-tools:${KAFKA_VERSION}`, `-DoutputDirectory=${tmp}`, '-Dtransitive=false'],
        cwd: REPO_ROOT,
        env: process.env,
      },
      logFile,
      10 * 60_000,
    );
    if (!existsSync(path.join(tmp, `kafka-tools-${KAFKA_VERSION}.jar`))) {
      throw new FloodgateError('STACK_DEPENDENCY_MISSING', `the fetch did not produce kafka-tools-${KAFKA_VERSION}.jar; see ${logFile}`);
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    if (error instanceof FloodgateError) throw new FloodgateError('STACK_DEPENDENCY_MISSING', error.message, { cause: error });
    throw error;
  }
  return jar;
}
