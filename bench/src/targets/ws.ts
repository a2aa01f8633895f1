import WebSocket from 'ws';
import type { RequestBody } from '../payload.ts';
import { nowMs } from '../scheduler.ts';
import type { Outcome } from '../stats.ts';
import type { Target, TargetOptions } from './target.ts';
import { frameMessage, parseReply, SendWindow } from './ws-window.ts';

interface Pending {
  body: RequestBody;
  intendedAtMs: number;
  sentAtMs: number;
  resolve: (outcome: Outcome) => void;
}

/** ws://host:port (or http://host:port) → ws://host:port/v1/stream. */
export function streamUrl(url: string): string {
  const u = new URL(url);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.pathname === '/' || u.pathname === '' || u.pathname === '/v1/events') u.pathname = '/v1/stream';
  return u.toString();
}

/**
 * One WebSocket connection with its send window. The `ws` package is the client: Node 20 has no
 * stable WebSocket client, and the browser-style API cannot set the Authorization header at upgrade.
 */
class Connection {
  private socket: WebSocket | undefined;
  private readonly window: SendWindow<Pending>;
  private closedByUs = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly options: TargetOptions,
  ) {
    this.window = new SendWindow<Pending>(options.window, options.maxQueued);
  }

  get pending(): number {
    return this.window.pending;
  }

  get open(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
      const socket = new WebSocket(this.url, { headers, perMessageDeflate: this.options.gzip, handshakeTimeout: this.options.timeoutMs });
      this.socket = socket;
      let opened = false;
      socket.once('open', () => {
        opened = true;
        resolve();
      });
      socket.once('unexpected-response', (_req, res) => {
        reject(new Error(`upgrade refused: HTTP ${res.statusCode}`));
        socket.terminate();
      });
      socket.on('message', (data) => this.onMessage(data.toString()));
      socket.once('error', (error) => {
        if (!opened) reject(error);
      });
      socket.once('close', () => this.onClose(opened));
    });
  }

  submit(body: RequestBody, intendedAtMs: number): Promise<Outcome> {
    return new Promise((resolve) => {
      if (!this.open) {
        resolve({ ok: false, key: 'ws not connected', eventsAcked: 0, latencyMs: nowMs() - intendedAtMs, serviceMs: 0 });
        return;
      }
      const pending: Pending = { body, intendedAtMs, sentAtMs: 0, resolve };
      const offer = this.window.offer(pending);
      if (offer.action === 'send') this.write(offer.seq, pending);
      else if (offer.action === 'dropped') {
        resolve({ ok: false, key: 'dropped (generator queue full)', eventsAcked: 0, latencyMs: 0, serviceMs: 0 });
      }
    });
  }

  private write(seq: number, pending: Pending): void {
    pending.sentAtMs = nowMs();
    this.socket!.send(frameMessage(seq, pending.body.eventsJson));
  }

  private onMessage(text: string): void {
    const reply = parseReply(text);
    if (reply.kind === 'other') return;
    const { item, release } = this.window.settle(reply.seq);
    for (const r of release) this.write(r.seq, r.item);
    if (!item) return;
    const done = nowMs();
    if (reply.kind === 'ack') {
      item.resolve({ ok: true, eventsAcked: reply.accepted ?? item.body.events, latencyMs: done - item.intendedAtMs, serviceMs: done - item.sentAtMs });
    } else {
      item.resolve({ ok: false, key: `nack ${reply.code}`, eventsAcked: 0, latencyMs: done - item.intendedAtMs, serviceMs: done - item.sentAtMs });
    }
  }

  private onClose(wasOpen: boolean): void {
    const done = nowMs();
    for (const item of this.window.drain()) {
      item.resolve({ ok: false, key: 'ws closed', eventsAcked: 0, latencyMs: done - item.intendedAtMs, serviceMs: item.sentAtMs ? done - item.sentAtMs : 0 });
    }
    if (this.closedByUs || !wasOpen) return;
    // Reconnect while the run goes on; arrivals meanwhile count as 'ws not connected'.
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch(() => this.onClose(true));
    }, 200);
  }

  async close(timeoutMs: number): Promise<void> {
    this.closedByUs = true;
    clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.terminate();
        resolve();
      }, timeoutMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.close(1000, 'bench done');
    });
  }
}

export class WsTarget implements Target {
  private readonly connections: Connection[] = [];
  private next = 0;

  constructor(private readonly options: TargetOptions) {
    const url = streamUrl(options.url);
    for (let i = 0; i < options.connections; i++) this.connections.push(new Connection(url, options));
  }

  get inFlight(): number {
    return this.connections.reduce((sum, c) => sum + c.pending, 0);
  }

  async open(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.connect()));
  }

  send(body: RequestBody, intendedAtMs: number): Promise<Outcome> {
    // Round robin over the open connections.
    for (let tries = 0; tries < this.connections.length; tries++) {
      const c = this.connections[this.next]!;
      this.next = (this.next + 1) % this.connections.length;
      if (c.open) return c.submit(body, intendedAtMs);
    }
    return this.connections[0]!.submit(body, intendedAtMs);
  }

  async close(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.close(2000)));
  }
}
