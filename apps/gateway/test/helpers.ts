/** Helpers shared by the gateway's integration tests: its processes, its metrics, raw clients. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Gateway processes forked by the primary (its other children, e.g. esbuild's, are skipped). */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('gateway/src/main.ts')) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children.sort((a, b) => a - b);
}

/** One client-to-server WebSocket frame (masked, FIN set); opcode 1 = text, 8 = close. */
export function wsFrame(payload: Buffer | string, opcode = 1): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const n = body.length;
  const header = n < 126 ? Buffer.from([0x80 | opcode, 0x80 | n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (n >= 126 && n < 65536) {
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 126;
    header.writeUInt16BE(n, 2);
  } else if (n >= 65536) {
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(n), 2);
  }
  const mask = randomBytes(4);
  const masked = Buffer.alloc(n);
  for (let i = 0; i < n; i++) masked[i] = body[i]! ^ mask[i % 4]!;
  return Buffer.concat([header, mask, masked]);
}

/** The HTTP upgrade request of /v1/stream. */
export function upgradeRequest(host: string, port: number, key: string): string {
  return (
    `GET /v1/stream HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${key}\r\n\r\n`
  );
}

/** A raw TCP connection, resolved once connected. */
export function rawConnect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A raw connection upgraded to /v1/stream: resolved after the 101 was read. */
export async function rawUpgraded(host: string, port: number, key: string): Promise<net.Socket> {
  const socket = await rawConnect(host, port);
  socket.write(upgradeRequest(host, port, key));
  await new Promise<void>((resolve, reject) => {
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (head.startsWith('HTTP/1.1 101')) resolve();
      else reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  return socket;
}

export interface NeverReadingClient {
  /** Stop sending, read everything until the gateway closes, and report. */
  read(): Promise<{ sent: number; acks: number; close: number | null }>;
  /** Vanish with a TCP reset. */
  reset(): Promise<{ sent: number }>;
}

/**
 * clients/never-reads.py: a WebSocket client with a small fixed receive buffer that sends messages
 * of `events` events every `intervalSeconds` and reads nothing until told to.
 */
export function startNeverReadingClient(options: { host: string; port: number; key: string; events: number; intervalSeconds: number; maxCount: number }): NeverReadingClient {
  const args = [options.host, String(options.port), options.key, String(options.events), String(options.intervalSeconds), String(options.maxCount)];
  const child = spawn('python3', [path.join(HERE, 'clients/never-reads.py'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const firstLine = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`never-reads.py exited with ${code} before reporting`)));
    child.once('error', reject);
  });
  // Never left behind, whatever the test does.
  const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
  timer.unref();
  const command = async <T>(name: string): Promise<T> => {
    child.stdin!.write(`${name}\n`);
    const line = await firstLine;
    const report = JSON.parse(line) as T & { error?: string };
    if (report.error) throw new Error(`never-reads.py: ${report.error}`);
    return report;
  };
  return { read: () => command('read'), reset: () => command('reset') };
}
