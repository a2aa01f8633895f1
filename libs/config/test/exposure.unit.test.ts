import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../src/exposure.ts';

describe('isLoopbackHost', () => {
  it('is true only for addresses that can only mean this machine', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '', '10.0.0.1', 'gateway', '127.0.0.1.example.com', '::ffff:10.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
  });
});

