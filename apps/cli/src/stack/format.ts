import { renderTable } from '@floodgate/tables';
import type { ServerStatus } from './stack.ts';

/** The `stack status` table: name, address, pid (or "external"), health, and a note when there is one. */
export function renderStatusTable(servers: ServerStatus[]): string {
  const rows = servers.map((s) => [s.name, s.address, s.external ? 'external' : s.pid === null ? '-' : String(s.pid), s.healthy ? 'up' : 'down', s.note ?? '']);
  return renderTable(['NAME', 'ADDRESS', 'PID', 'HEALTH', 'NOTE'], rows);
}
