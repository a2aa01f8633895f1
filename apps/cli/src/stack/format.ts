import type { ServerStatus } from './stack.ts';

/** A plain text table: a header row, then one row per entry, columns padded to the widest cell. */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The `stack status` table: name, address, pid (or "external"), health, and a note when there is one. */
export function renderStatusTable(servers: ServerStatus[]): string {
  const rows = servers.map((s) => [s.name, s.address, s.external ? 'external' : s.pid === null ? '-' : String(s.pid), s.healthy ? 'up' : 'down', s.note ?? '']);
  return renderTable(['NAME', 'ADDRESS', 'PID', 'HEALTH', 'NOTE'], rows);
}
