import { describe, expect, it } from 'vitest';
import { MIGRATION_RANGES, MIGRATIONS } from '../src/index.ts';

describe('migration version ranges', () => {
  it('place every migration in exactly one part of the schema', () => {
    const ranges = Object.values(MIGRATION_RANGES);
    for (const { version } of MIGRATIONS) expect(ranges.filter(([from, to]) => version >= from && version <= to)).toHaveLength(1);
    expect(MIGRATION_RANGES.traces).toEqual([30, 39]);
  });
});
