/**
 * The HTTP ceiling's server (`floodgate bench ceiling`): the gateway's uWebSockets.js build, with
 * nothing behind it. POST /v1/events reads the body, `JSON.parse`s it and answers 202 with the
 * gateway's accepted count at once, so the bench's generator and request meet the least work any
 * gateway on this machine could do. Run as its own process (like the gateway); prints
 * `listening <port>` on stdout once bound. The native binary is loaded directly, as the gateway
 * does: the package's entry point would silently fall back to a slow JavaScript server.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const binary = `@trufflesuite/uws-js-unofficial/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
const uws = require(binary) as typeof import('@trufflesuite/uws-js-unofficial');

const host = process.argv[2] ?? '127.0.0.1';
const port = Number(process.argv[3] ?? '0');

const app = uws.App();
app.post('/v1/events', (res) => {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  const chunks: Buffer[] = [];
  res.onData((chunk, isLast) => {
    // uWS reuses the chunk's memory after this callback: copy it, as the gateway does.
    chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
    if (!isLast) return;
    let status = '202 Accepted';
    let body: string;
    try {
      const parsed: unknown = JSON.parse((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8'));
      body = `{"accepted":${Array.isArray(parsed) ? parsed.length : 1}}`;
    } catch {
      status = '400 Bad Request';
      body = '{"error":{"code":"INVALID_JSON","message":"not JSON"}}';
    }
    if (aborted) return;
    res.cork(() => {
      res.writeStatus(status);
      res.writeHeader('content-type', 'application/json');
      res.end(body);
    });
  });
});
// The bench's API key preflight: answered like a gateway that takes the key (415, no event).
app.any('/*', (res) => {
  res.cork(() => {
    res.writeStatus('415 Unsupported Media Type');
    res.end('{}');
  });
});
app.listen(host, port, (socket) => {
  if (!socket) {
    process.stderr.write(`bare server: cannot listen on ${host}:${port}\n`);
    process.exit(1);
  }
  process.stdout.write(`listening ${uws.us_socket_local_port(socket)}\n`);
});
process.on('SIGTERM', () => process.exit(0));
