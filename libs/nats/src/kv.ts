import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { FloodgateError } from '@floodgate/errors';

export interface BucketOptions {
  /** Entries older than this are removed by the server (bucket-wide; nats-server 2.9 has no per-key TTL). 0: never. */
  ttlMs?: number;
  /** Values kept per key; default 1. */
  history?: number;
  /** Per-request timeout of KV operations; default 5 s. */
  timeoutMs?: number;
  /** Open an existing bucket only (readers such as the CLI must not create one as a side effect). */
  existing?: boolean;
}

/** A value with the revision it was read at, for compare-and-set. */
export interface Versioned<T> {
  value: T;
  revision: number;
}

/** JetStream's "wrong last sequence": a compare-and-set lost to another writer. */
export function isRevisionConflict(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (code === 10071 || code === 10164) return true;
  return /wrong last sequence|key exists/i.test((error as Error)?.message ?? '');
}

/** JetStream's "stream not found": the bucket (its stream `KV_<name>`) does not exist. */
function isStreamNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown; api_error?: { err_code?: unknown } })?.code;
  if (code === 10059 || (error as { api_error?: { err_code?: unknown } })?.api_error?.err_code === 10059) return true;
  return /stream not found/i.test((error as Error)?.message ?? '');
}

/**
 * A KV bucket holding JSON values. Creates the bucket when missing (idempotent); reads return the
 * revision so writers can compare-and-set, which is how the sink fences a previous owner of a
 * partition. A bucket deleted while in use (by hand, or lost with the server's storage) makes every
 * operation fail (a timeout or "jetstream is not enabled", not a clear "missing"): writers call
 * `restoreIfMissing` on a failure, which tells the two apart and re-creates the bucket.
 */
export class JsonBucket<T> {
  private constructor(
    readonly name: string,
    private readonly kv: KV,
    private readonly nc: NatsConnection,
    private readonly options: BucketOptions,
  ) {}

  static async open<T>(nc: NatsConnection, name: string, options: BucketOptions = {}): Promise<JsonBucket<T>> {
    try {
      const kvm = new Kvm(nc);
      if (options.existing) {
        const kv = await kvm.open(name, { timeout: options.timeoutMs ?? 5000 });
        await kv.status(); // fails now, not on first use, when the bucket does not exist
        return new JsonBucket<T>(name, kv, nc, options);
      }
      return new JsonBucket<T>(name, await JsonBucket.create(nc, name, options), nc, options);
    } catch (cause) {
      if (options.existing && isStreamNotFound(cause)) {
        throw new FloodgateError('NATS_UNAVAILABLE', `the NATS KV bucket ${name} does not exist`, { cause, context: { bucket: name, missing: true } });
      }
      throw new FloodgateError('NATS_UNAVAILABLE', `cannot open the NATS KV bucket ${name}: ${(cause as Error).message}`, {
        cause,
        retriable: true,
        context: { bucket: name },
      });
    }
  }

  private static create(nc: NatsConnection, name: string, options: BucketOptions): Promise<KV> {
    return new Kvm(nc).create(name, {
      history: options.history ?? 1,
      ...(options.ttlMs ? { ttl: options.ttlMs } : {}),
      timeout: options.timeoutMs ?? 5000,
    });
  }

  /**
   * After an operation failed: true when the bucket does not exist any more and was re-created
   * (empty), false when it exists (the failure was something else, e.g. NATS unreachable). This
   * handle keeps working on the re-created bucket. Throws when NATS cannot say; a bucket opened
   * with `existing` is never re-created (NATS_UNAVAILABLE, context.missing).
   */
  async restoreIfMissing(): Promise<boolean> {
    const jsm = await jetstreamManager(this.nc, { timeout: this.options.timeoutMs ?? 5000 });
    try {
      await jsm.streams.info(`KV_${this.name}`);
      return false;
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
    }
    if (this.options.existing) {
      throw new FloodgateError('NATS_UNAVAILABLE', `the NATS KV bucket ${this.name} does not exist`, { context: { bucket: this.name, missing: true } });
    }
    await JsonBucket.create(this.nc, this.name, this.options);
    return true;
  }

  async get(key: string): Promise<Versioned<T> | undefined> {
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return undefined;
    return { value: entry.json<T>(), revision: entry.revision };
  }

  /** Writes unconditionally; returns the new revision. */
  put(key: string, value: T): Promise<number> {
    return this.kv.put(key, JSON.stringify(value));
  }

  /** Writes only if the key has no value; a revision conflict otherwise. */
  create(key: string, value: T): Promise<number> {
    return this.kv.create(key, JSON.stringify(value));
  }

  /** Writes only if the key is still at `revision`; a revision conflict otherwise. */
  update(key: string, value: T, revision: number): Promise<number> {
    return this.kv.update(key, JSON.stringify(value), revision);
  }

  async delete(key: string): Promise<void> {
    await this.kv.delete(key);
  }

  /**
   * Every live key and value, optionally under a key filter (`p.>`), each key once. The keys come
   * from one stream-info request (its per-subject counts), not from a KV `keys()` consumer: that
   * one lists a key again each time it is rewritten while being read (heartbeats rewrite members
   * every few seconds) and, when entries expire between its info and its first message, waits
   * for an idle heartbeat that may not come soon.
   */
  async entries(filter = '>'): Promise<Array<{ key: string; value: T; revision: number }>> {
    const prefix = `$KV.${this.name}.`;
    const jsm = await jetstreamManager(this.nc, { timeout: this.options.timeoutMs ?? 5000 });
    const info = await jsm.streams.info(`KV_${this.name}`, { subjects_filter: `${prefix}${filter}` });
    const keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
    const out: Array<{ key: string; value: T; revision: number }> = [];
    await Promise.all(
      keys.map(async (key) => {
        // A key deleted or expired since the listing has no value: it is not live.
        const entry = await this.get(key);
        if (entry) out.push({ key, ...entry });
      }),
    );
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

/** Deletes a bucket (its JetStream stream); tests use it to clean up after themselves. */
export async function destroyBucket(nc: NatsConnection, name: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(`KV_${name}`).catch(() => false);
}
