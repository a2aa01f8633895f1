import { createServer } from 'node:net';
import { AssertionError } from 'node:assert';

/** A TCP port free on 127.0.0.1 right now (for servers that must know their port up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * The first of `size` consecutive ports free on 127.0.0.1 right now, for servers whose ports follow
 * one another (a local Kafka cluster: brokers at base, base+2, base+4, each controller on +1).
 * Chosen below Linux's ephemeral range (32768+), where an outgoing connection could take a port
 * between this check and the server's bind.
 */
export async function freePortBlock(size: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * Math.floor(12_000 / size)) * size;
    const free = await Promise.all(Array.from({ length: size }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new AssertionError({ message: `no block of ${size} free ports found between 20000 and 32000` });
}
