/**
 * The one table style of every terminal output (`stack status`, `status`, `sink`, `trace`,
 * `traces`, the bench's summaries): a header row of upper-case column names (units such as `ms`
 * or `req/s` keep their case, so callers write the names), columns two spaces apart and padded to
 * the widest cell, no rule line, number columns right-aligned where the caller says so, no
 * trailing spaces.
 */
export interface TableOptions {
  /** Per column: right-align it (numbers). Default: every column left-aligned. */
  alignRight?: readonly boolean[];
}

export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = options.alignRight ?? [];
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
