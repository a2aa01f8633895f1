import { gzipSync } from 'node:zlib';
import { FloodgateError } from '@floodgate/errors';

/**
 * Realistic random events, each tagged with the run id in `data.run_id` and a `bench.` type
 * prefix, so the delivery proof can find exactly this run's rows. Three families, mixed by weight:
 * product analytics (page views, clicks, purchases), service telemetry (metrics), IoT readings.
 */
export type EventKind = 'product' | 'telemetry' | 'iot';
export const EVENT_KINDS: readonly EventKind[] = ['product', 'telemetry', 'iot'];

export interface PayloadOptions {
  runId: string;
  /** Approximate size of one serialised event in bytes; padded with `data.pad` when short. */
  eventBytes: number;
  /** Weights of the event families, e.g. { product: 6, telemetry: 3, iot: 1 }. */
  mix: Partial<Record<EventKind, number>>;
  /** A seed, so runs are reproducible. */
  seed: number;
}

export interface BenchEvent {
  type: string;
  source: string;
  subject: string;
  data: Record<string, unknown>;
}

/** mulberry32: small, fast, seedable; Math.random cannot be seeded. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** "product=6,telemetry=3,iot=1" → weights. */
export function parseMix(text: string): Partial<Record<EventKind, number>> {
  const mix: Partial<Record<EventKind, number>> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, weight] = part.split('=');
    if (!EVENT_KINDS.includes(name as EventKind)) {
      throw new FloodgateError('CONFIG_INVALID', `--mix: unknown event family ${JSON.stringify(name)} (known: ${EVENT_KINDS.join(', ')})`);
    }
    const w = weight === undefined ? 1 : Number(weight);
    if (!Number.isFinite(w) || w < 0) throw new FloodgateError('CONFIG_INVALID', `--mix: weight of ${name} must be a number ≥ 0`);
    mix[name as EventKind] = w;
  }
  if (Object.values(mix).reduce((a, b) => a + (b ?? 0), 0) <= 0) throw new FloodgateError('CONFIG_INVALID', '--mix: all weights are 0');
  return mix;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const PAGES = ['/', '/pricing', '/docs', '/signup', '/checkout', '/blog/launch', '/settings', '/search'];
const ACTIONS = ['page_view', 'page_view', 'page_view', 'click', 'click', 'signup', 'purchase', 'search'];
const REFERRERS = ['', 'https://www.google.com/', 'https://news.ycombinator.com/', 'https://twitter.com/', 'newsletter'];
const AGENTS = ['Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', 'Mozilla/5.0 (Macintosh) Safari/605.1.15', 'Mozilla/5.0 (iPhone) Mobile/15E148'];
const SERVICES = ['api', 'auth', 'billing', 'search', 'ingest'];
const METRICS: [string, string, number][] = [
  ['http.server.duration', 'ms', 250],
  ['process.cpu.utilization', 'ratio', 1],
  ['process.memory.rss', 'By', 512 * 1024 * 1024],
  ['queue.depth', '1', 1000],
];
const FIRMWARE = ['1.4.2', '1.4.3', '2.0.0-rc1', '2.0.1'];

export function createEventFactory(options: PayloadOptions): () => BenchEvent {
  const random = rng(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const int = (n: number) => Math.floor(random() * n);
  const word = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += ALPHABET[int(ALPHABET.length)];
    return s;
  };
  const kinds = EVENT_KINDS.filter((k) => (options.mix[k] ?? 0) > 0);
  const total = kinds.reduce((sum, k) => sum + options.mix[k]!, 0);
  const kindOf = (): EventKind => {
    let r = random() * total;
    for (const k of kinds) {
      r -= options.mix[k]!;
      if (r < 0) return k;
    }
    return kinds[kinds.length - 1]!;
  };

  const base = (): BenchEvent => {
    switch (kindOf()) {
      case 'product': {
        const action = pick(ACTIONS);
        const user = `u_${int(50_000)}`;
        const data: Record<string, unknown> = {
          run_id: options.runId,
          user_id: user,
          session_id: word(12),
          page: pick(PAGES),
          referrer: pick(REFERRERS),
          user_agent: pick(AGENTS),
          screen: { w: pick([1920, 1440, 390, 768]), h: pick([1080, 900, 844, 1024]) },
        };
        if (action === 'purchase') Object.assign(data, { amount: Math.round(random() * 50_000) / 100, currency: pick(['EUR', 'USD', 'GBP']), items: 1 + int(5) });
        if (action === 'search') data.query = word(3 + int(10));
        return { type: `bench.product.${action}`, source: 'floodgate-bench/web', subject: user, data };
      }
      case 'telemetry': {
        const [metric, unit, scale] = pick(METRICS);
        const service = pick(SERVICES);
        return {
          type: 'bench.telemetry.metric',
          source: `floodgate-bench/${service}`,
          subject: `${service}-${int(8)}`,
          data: { run_id: options.runId, metric, unit, value: Math.round(random() * scale * 1000) / 1000, host: `node-${int(32)}`, region: pick(['eu-west-1', 'us-east-1', 'ap-south-1']), tags: { env: 'bench', version: `v${1 + int(3)}` } },
        };
      }
      case 'iot': {
        const device = `dev_${int(10_000)}`;
        return {
          type: 'bench.iot.reading',
          source: 'floodgate-bench/iot',
          subject: device,
          data: {
            run_id: options.runId,
            device_id: device,
            temperature_c: Math.round((15 + random() * 20) * 10) / 10,
            humidity_pct: Math.round(random() * 1000) / 10,
            battery_pct: int(101),
            location: { lat: Math.round((random() * 180 - 90) * 1e5) / 1e5, lon: Math.round((random() * 360 - 180) * 1e5) / 1e5 },
            firmware: pick(FIRMWARE),
          },
        };
      }
    }
  };

  return () => {
    const event = base();
    const size = Buffer.byteLength(JSON.stringify(event));
    // `"pad":""` plus a comma costs 9 bytes.
    const missing = options.eventBytes - size - 9;
    if (missing > 0) event.data.pad = word(missing);
    return event;
  };
}

export type BodyFormat = 'json' | 'ndjson';

export interface RequestBody {
  /** What goes on the wire (gzip-compressed when asked). */
  bytes: Buffer;
  /** The JSON array of the events (WebSocket messages splice it into `{"seq":…,"events":…}`). */
  eventsJson: string;
  events: number;
  /** Uncompressed size. */
  rawBytes: number;
}

/**
 * A pool of ready request bodies. Generating and serialising events per request would cost the
 * generator more CPU than the gateway spends on them; a pool of a few hundred random bodies, cycled,
 * keeps the content varied and the generator cheap. (Ids come from the server, so repeating a body
 * never repeats an id.)
 */
export function buildBodyPool(options: PayloadOptions & { batch: number; format: BodyFormat; gzip: boolean; size: number }): RequestBody[] {
  const next = createEventFactory(options);
  const pool: RequestBody[] = [];
  for (let i = 0; i < options.size; i++) {
    const events = Array.from({ length: options.batch }, next);
    const eventsJson = JSON.stringify(events);
    let text: string;
    if (options.format === 'ndjson') text = `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;
    else text = options.batch === 1 ? JSON.stringify(events[0]) : eventsJson;
    const raw = Buffer.from(text);
    pool.push({ bytes: options.gzip ? gzipSync(raw) : raw, eventsJson, events: options.batch, rawBytes: raw.length });
  }
  return pool;
}
