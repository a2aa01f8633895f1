import { describe, expect, it } from 'vitest';
import { renderTable } from '@floodgate/tables';

describe('renderTable: the one table style', () => {
  it('pads columns two spaces apart, draws no rule and leaves no trailing spaces', () => {
    expect(renderTable(['NAME', 'PID', 'NOTE'], [['kafka', '12', ''], ['clickhouse', '7', 'external']])).toBe(
      ['NAME        PID  NOTE', 'kafka       12', 'clickhouse  7    external'].join('\n'),
    );
  });

  it('right-aligns the columns it is told to (numbers)', () => {
    expect(renderTable(['METRIC', 'P50'], [['latency', '1.5 ms'], ['service time', '12.25 ms']], { alignRight: [false, true] })).toBe(
      ['METRIC             P50', 'latency         1.5 ms', 'service time  12.25 ms'].join('\n'),
    );
  });
});
