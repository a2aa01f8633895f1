import { afterEach, describe, expect, it, vi } from 'vitest';
import { benchLogger } from '../src/runner.ts';

describe('the bench log', () => {
  afterEach(() => vi.restoreAllMocks());

  it('goes to stderr, so stdout holds only the report (`--json` stays parseable while Kafka logs broker errors)', () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    benchLogger('warn').error({ broker: '127.0.0.1:9092' }, 'Connection error: connect ECONNREFUSED');
    expect(out).not.toHaveBeenCalled();
    expect(err).toHaveBeenCalledTimes(1);
    expect(String(err.mock.calls[0]![0])).toContain('Connection error: connect ECONNREFUSED');
  });
});
