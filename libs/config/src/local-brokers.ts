/**
 * Defaults that follow from KAFKA_LOCAL_BROKERS (the number of brokers `floodgate stack up` runs).
 * With 3 local brokers the stack is a replicated cluster, so every app that reads the same
 * environment must list all three brokers and create topics with replication factor 3 and
 * min.insync.replicas 2; applied to the raw values before validation, and only to unset keys, so
 * an explicit setting always wins. Kept free of imports: load.ts applies it.
 */

/** Broker ports of the local 3-broker cluster: 9092, 9094, 9096 (each controller on port + 1). */
export const LOCAL_BROKER_PORTS_3 = [9092, 9094, 9096] as const;

export function applyLocalBrokerDefaults(raw: Record<string, unknown>, keys: readonly string[]): void {
  if (!keys.includes('KAFKA_LOCAL_BROKERS')) return;
  if (String(raw.KAFKA_LOCAL_BROKERS ?? '1').trim() !== '3') return;
  const fill = (key: string, value: string) => {
    if (keys.includes(key) && raw[key] === undefined) raw[key] = value;
  };
  fill('KAFKA_BROKERS', LOCAL_BROKER_PORTS_3.map((p) => `127.0.0.1:${p}`).join(','));
  fill('KAFKA_REPLICATION_FACTOR', '3');
  fill('KAFKA_MIN_INSYNC_REPLICAS', '2');
}
