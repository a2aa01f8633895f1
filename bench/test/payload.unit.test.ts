import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildBodyPool, createEventFactory } from '../src/payload.ts';

describe('payloads', () => {
  it('tags every event with the run id and the bench. type prefix, at about the asked size', () => {
    const next = createEventFactory({ runId: 'run-1', eventBytes: 400, mix: { product: 1, telemetry: 1, iot: 1 }, seed: 3 });
    const kinds = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const e = next();
      expect(e.data.run_id).toBe('run-1');
      expect(e.type).toMatch(/^bench\.(product|telemetry|iot)\./);
      kinds.add(e.type.split('.')[1]!);
      const size = Buffer.byteLength(JSON.stringify(e));
      expect(size).toBeGreaterThanOrEqual(390);
      expect(size).toBeLessThanOrEqual(460);
    }
    expect(kinds).toEqual(new Set(['product', 'telemetry', 'iot']));
  });

  it('honours the mix weights', () => {
    const next = createEventFactory({ runId: 'r', eventBytes: 50, mix: { iot: 1 }, seed: 1 });
    for (let i = 0; i < 50; i++) expect(next().type).toBe('bench.iot.reading');
  });

  it('builds JSON, array, NDJSON and gzip bodies the gateway accepts', () => {
    const base = { runId: 'r', eventBytes: 200, mix: { product: 1 }, seed: 1, size: 2 };
    const single = buildBodyPool({ ...base, batch: 1, format: 'json', gzip: false });
    expect(JSON.parse(single[0]!.bytes.toString()).data.run_id).toBe('r');
    const array = buildBodyPool({ ...base, batch: 5, format: 'json', gzip: false });
    expect(JSON.parse(array[0]!.bytes.toString())).toHaveLength(5);
    expect(array[0]!.events).toBe(5);
    const ndjson = buildBodyPool({ ...base, batch: 3, format: 'ndjson', gzip: false });
    expect(ndjson[0]!.bytes.toString().trim().split('\n').map((l) => JSON.parse(l).data.run_id)).toEqual(['r', 'r', 'r']);
    const gz = buildBodyPool({ ...base, batch: 5, format: 'json', gzip: true });
    expect(JSON.parse(gunzipSync(gz[0]!.bytes).toString())).toHaveLength(5);
    expect(gz[0]!.rawBytes).toBeGreaterThan(gz[0]!.bytes.length);
    expect(JSON.parse(gz[0]!.eventsJson)).toHaveLength(5);
  });
});
