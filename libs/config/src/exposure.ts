import { isIP } from 'node:net';
/**
 * Which listen addresses reach only this machine. A server on any other address (0.0.0.0, ::, a
 * host name, a LAN address) is reachable from the network, so the apps refuse to start there
 * without their credentials (docs/security.md, "Network exposure").
 */

/**
 * True for addresses that can only mean this machine: 127.0.0.0/8, ::1 (and its IPv4-mapped
 * 127.x form), localhost and *.localhost. The one loopback test of the gateway, the sink, the
 * stack and the bench's remote-load guard.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.split('.')[0] === '127';
  if (isIP(h) === 6) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && mapped[1]!.split('.')[0] === '127';
  }
  return false;
}
