import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@floodgate/logging';
import { stackConfigForTests, uniqueName, waitFor } from '@floodgate/testkit';
import { connectNats, destroyBucket, isRevisionConflict, JsonBucket, requestJson, serveRequests, type NatsConnection } from '../src/index.ts';

describe('nats: JSON buckets and control requests on the real server', () => {
  const stack = stackConfigForTests();
  const logger = createLogger('nats-test', { level: 'silent' });
  const buckets: string[] = [];
  let nc: NatsConnection;

  beforeAll(async () => {
    nc = await connectNats({ config: stack, name: 'nats-int-test', logger });
  });

  afterAll(async () => {
    for (const name of buckets) await destroyBucket(nc, name);
    await nc?.close();
  });

  it('compare-and-set: the second writer from the same revision loses', async () => {
    const name = uniqueName('it_cas');
    buckets.push(name);
    const bucket = await JsonBucket.open<{ owner: string }>(nc, name);
    const created = await bucket.create('p.0', { owner: 'a' });
    await expect(bucket.create('p.0', { owner: 'b' })).rejects.toSatisfy(isRevisionConflict);
    const read = await bucket.get('p.0');
    expect(read).toEqual({ value: { owner: 'a' }, revision: created });
    const next = await bucket.update('p.0', { owner: 'b' }, read!.revision);
    await expect(bucket.update('p.0', { owner: 'c' }, read!.revision)).rejects.toSatisfy(isRevisionConflict);
    expect(await bucket.get('p.0')).toEqual({ value: { owner: 'b' }, revision: next });
    expect((await bucket.entries()).map((e) => e.key)).toEqual(['p.0']);
    await bucket.delete('p.0');
    expect(await bucket.get('p.0')).toBeUndefined();
    // a deleted key can be created again
    await bucket.create('p.0', { owner: 'd' });
  });

  it('restoreIfMissing re-creates a deleted bucket (and only then), and the open handle works on the new one', async () => {
    const name = uniqueName('it_restore');
    buckets.push(name);
    const bucket = await JsonBucket.open<{ owner: string }>(nc, name, { timeoutMs: 1000 });
    await bucket.create('p.0', { owner: 'a' });
    expect(await bucket.restoreIfMissing()).toBe(false);
    expect(await bucket.get('p.0')).toMatchObject({ value: { owner: 'a' } });

    await destroyBucket(nc, name);
    await expect(bucket.put('p.0', { owner: 'b' })).rejects.toThrow();
    expect(await bucket.restoreIfMissing()).toBe(true);
    expect(await bucket.get('p.0')).toBeUndefined();
    await bucket.create('p.0', { owner: 'c' });
    expect(await bucket.get('p.0')).toMatchObject({ value: { owner: 'c' } });
    expect(await bucket.restoreIfMissing()).toBe(false);
  });

  it('a bucket TTL removes entries that are not refreshed', async () => {
    const name = uniqueName('it_ttl');
    buckets.push(name);
    const bucket = await JsonBucket.open<number>(nc, name, { ttlMs: 1000 });
    await bucket.put('p.alive', 1);
    await bucket.put('p.dead', 1);
    const refresher = setInterval(() => void bucket.put('p.alive', 2), 250);
    try {
      await waitFor(async () => (await bucket.entries('p.>')).map((e) => e.key).join(',') === 'p.alive', {
        timeoutMs: 5000,
        description: 'the unrefreshed key to expire',
      });
    } finally {
      clearInterval(refresher);
    }
  });

  it('lists each live key once while the keys are being rewritten (as heartbeats rewrite members)', async () => {
    const name = uniqueName('it_rewrite');
    buckets.push(name);
    const bucket = await JsonBucket.open<number>(nc, name, { ttlMs: 60_000 });
    const keys = Array.from({ length: 8 }, (_, i) => `p.${i}`);
    for (const key of keys) await bucket.put(key, 0);
    await bucket.put('a.other', 0);
    let n = 0;
    let rewriting = true;
    const rewriter = (async () => {
      while (rewriting) await Promise.all(keys.map((key) => bucket.put(key, ++n)));
    })();
    try {
      for (let read = 0; read < 20; read++) {
        expect((await bucket.entries('p.>')).map((e) => e.key)).toEqual(keys);
      }
    } finally {
      rewriting = false;
      await rewriter;
    }
  });

  it('serves JSON requests and reports handler errors with their code', async () => {
    const subject = `${uniqueName('it_ctl')}.process.x`;
    const sub = serveRequests(
      nc,
      subject,
      async (request) => {
        const { cmd } = request as { cmd: string };
        if (cmd === 'fail') throw new Error('no can do');
        return { echoed: cmd };
      },
      logger,
    );
    try {
      await expect(requestJson(nc, subject, { cmd: 'flush' }, 2000)).resolves.toEqual({ echoed: 'flush' });
      await expect(requestJson(nc, subject, { cmd: 'fail' }, 2000)).rejects.toMatchObject({ code: 'CONTROL_FAILED' });
      await expect(requestJson(nc, `${subject}.nobody`, {}, 500)).rejects.toMatchObject({ code: 'CONTROL_NO_REPLY' });
    } finally {
      sub.unsubscribe();
    }
  });
});
