import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { env, loadConfig } from '../src/index.ts';

const schema = z.object({ SINK_FLUSH_MAX_ROWS: env.int(100) });

describe('loadConfig: unknown variables of ours', () => {
  it('rejects a variable with our prefix that no app reads, naming it', () => {
    expect(() => loadConfig(schema, { env: { SINK_FLUSH_MAX_ROW: '5' } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('SINK_FLUSH_MAX_ROW (set in the environment)') }),
    );
  });

  it('rejects one in the FLOODGATE_CONFIG file too', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'fg-config-')), 'config.json');
    writeFileSync(file, JSON.stringify({ GATEWAY_PORTT: 8080 }));
    expect(() => loadConfig(schema, { env: { FLOODGATE_CONFIG: file } })).toThrow(/GATEWAY_PORTT \(in .*config\.json\): no floodgate app reads this variable/);
  });

  it("accepts other apps' variables and variables of other software", () => {
    const config = loadConfig(schema, { env: { SINK_FLUSH_MAX_ROWS: '7', GATEWAY_PORT: '1', FLOODGATE_API_KEYS: 'a:b', KAFKA_HEAP_OPTS: '-Xmx1g', PATH: '/bin' } });
    expect(config.SINK_FLUSH_MAX_ROWS).toBe(7);
  });
});
