import { randomBytes } from 'node:crypto';

let counter = 0;

/**
 * A name no other test (in this run or an earlier one) has used, for per-test topics, tables,
 * databases and consumer groups: `<prefix>_<time><pid><counter><random>`. Only ASCII letters, digits
 * and `_`, starting with a letter or `_`, so the same name is a valid Kafka topic, consumer group,
 * NATS subject token and ClickHouse identifier; other characters in `prefix` become `_`.
 */
export function uniqueName(prefix: string): string {
  let safe = prefix.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z_]/.test(safe)) safe = `_${safe}`;
  counter = (counter + 1) % 1296;
  const suffix = [
    Date.now().toString(36),
    process.pid.toString(36),
    counter.toString(36).padStart(2, '0'),
    randomBytes(3).toString('hex'),
  ].join('');
  // Kafka topics are limited to 249 characters; stay far below.
  return `${safe.slice(0, 64)}_${suffix}`;
}
