import { Pool } from 'undici';
import type { RequestBody } from '../payload.ts';
import { nowMs } from '../scheduler.ts';
import type { Outcome } from '../stats.ts';
import { acceptedOf, errorKey, networkErrorKey, type Target, type TargetOptions } from './target.ts';

/**
 * POST /v1/events over keep-alive connections. undici (the client inside Node's fetch, used
 * directly) rather than node:http: its pool and parser cost about half the CPU per request, and the
 * generator shares two cores with the system under test.
 */
export class HttpTarget implements Target {
  private readonly pool: Pool;
  private readonly path: string;
  private readonly headers: Record<string, string>;
  private pending = 0;

  constructor(private readonly options: TargetOptions) {
    const url = new URL(options.url);
    this.path = url.pathname === '/' || url.pathname === '' ? '/v1/events' : `${url.pathname}${url.search}`;
    this.pool = new Pool(url.origin, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    this.headers = { 'content-type': options.format === 'ndjson' ? 'application/x-ndjson' : 'application/json' };
    if (options.gzip) this.headers['content-encoding'] = 'gzip';
    if (options.apiKey) this.headers.authorization = `Bearer ${options.apiKey}`;
  }

  get inFlight(): number {
    return this.pending;
  }

  async open(): Promise<void> {}

  async send(body: RequestBody, intendedAtMs: number): Promise<Outcome> {
    if (this.pending >= this.options.maxQueued) {
      return { ok: false, key: 'dropped (generator queue full)', eventsAcked: 0, latencyMs: 0, serviceMs: 0 };
    }
    this.pending++;
    const sentAt = nowMs();
    try {
      const response = await this.pool.request({ path: this.path, method: 'POST', headers: this.headers, body: body.bytes });
      const text = await response.body.text();
      const done = nowMs();
      const status = response.statusCode;
      if (status >= 200 && status < 300) {
        return { ok: true, status, eventsAcked: acceptedOf(text, body.events), latencyMs: done - intendedAtMs, serviceMs: done - sentAt };
      }
      return { ok: false, status, key: errorKey(status, text), eventsAcked: 0, latencyMs: done - intendedAtMs, serviceMs: done - sentAt };
    } catch (error) {
      const done = nowMs();
      return { ok: false, key: networkErrorKey(error), eventsAcked: 0, latencyMs: done - intendedAtMs, serviceMs: done - sentAt };
    } finally {
      this.pending--;
    }
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => this.pool.destroy());
  }
}
