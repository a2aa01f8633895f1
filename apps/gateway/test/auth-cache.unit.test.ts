import { describe, expect, it } from 'vitest';
import { ApiKeyStore, parseApiKeysVariable } from '../src/auth.ts';

describe('API key store: accepted keys are remembered, others never', () => {
  it('answers a repeated key from memory and still refuses near misses and unknown keys', () => {
    const store = new ApiKeyStore(parseApiKeysVariable('a:KEY-AAAA-1111'));
    const first = store.authenticate('KEY-AAAA-1111');
    expect(first?.tenant).toBe('a');
    expect(store.authenticate('KEY-AAAA-1111')).toBe(first);
    expect(store.authenticate('KEY-AAAA-1112')).toBeUndefined();
    expect(store.authenticate('KEY-AAAA-111')).toBeUndefined();
    for (let i = 0; i < 5000; i++) expect(store.authenticate(`random-key-${i}`)).toBeUndefined();
    expect(store.authenticate('KEY-AAAA-1111')).toBe(first);
  });
});
