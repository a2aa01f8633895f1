/**
 * Which listen addresses reach only this machine. A server on any other address (0.0.0.0, ::, a
 * host name, a LAN address) is reachable from the network, so the apps refuse to start there
 * without their credentials (docs/security.md, "Network exposure").
 */

/** True for addresses that can only mean this machine: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
