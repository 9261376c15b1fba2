import { describe, expect, it } from 'vitest';
import { PoolSet, shapeKey } from './pool-set.ts';
import { WarmPool } from './pool.ts';
import type { EnvironmentSpec } from './provider.ts';
import { FakeProvider } from './testing/fake-provider.ts';

/** Creates finish when the test says so (finishOne), to observe the pool's refill and drain. */
const manual = (): FakeProvider => new FakeProvider({ holdCreates: true });
const spec: EnvironmentSpec = { hosts: ['host0'], services: { etcd: 'none', docker: false } };
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('warm pool', () => {
  it('fills to its size, hands out ready environments, and refills behind each claim', async () => {
    const p = manual();
    const pool = new WarmPool(p, spec, 2, 2);
    expect(pool.stats()).toMatchObject({ ready: 0, creating: 2 });
    p.finishOne();
    p.finishOne();
    await pool.waitReady();
    const env = await pool.claim();
    expect(env.id).toBe('env1');
    await tick();
    expect(pool.stats()).toMatchObject({ ready: 1, creating: 1, claimed: 1 });
    await pool.drain();
  });

  it('creates on demand when empty instead of failing the claim', async () => {
    const p = manual();
    const pool = new WarmPool(p, spec, 1, 1);
    const claim = pool.claim();
    await tick();
    p.finishOne(); // the background refill
    p.finishOne(); // the on-demand create
    expect((await claim).id).toMatch(/^env[12]$/);
    await pool.drain();
  });

  it('drain cancels creates in flight and destroys what is ready', async () => {
    const p = manual();
    const pool = new WarmPool(p, spec, 2, 1);
    p.finishOne();
    await pool.waitReady(1);
    await tick();
    expect(pool.stats().creating).toBe(1);
    await pool.drain();
    expect(p.destroyed).toEqual(['env1']);
    expect(pool.stats()).toMatchObject({ ready: 0, creating: 0 });
    await expect(pool.claim()).rejects.toThrow(/draining/);
  });
});

describe('warm pool shrinking', () => {
  it('drain waits for destroys a shrink started, so a server that stops right after a workshop ends leaves nothing half-removed', async () => {
    const p = new FakeProvider();
    const pool = new WarmPool(p, spec, 2, 2);
    await pool.waitReady();
    p.holdDestroys();
    void pool.resize(0); // the workshop ended: its pool goes to 0, destroys start
    await tick();
    expect(p.destroying).toBe(2);
    let drained = false;
    const drain = pool.drain().then(() => (drained = true));
    await tick();
    expect(drained).toBe(false); // still destroying
    p.releaseDestroys();
    await drain;
    expect(p.destroying).toBe(0);
    expect(p.live.size).toBe(0);
  });
});

describe('pool set', () => {
  it('keeps one pool per shape, ignores owners, and creates directly when the size is 0', async () => {
    const p = manual();
    const set = new PoolSet(p, 1);
    set.warm([spec, { ...spec, owner: 'someone' }, { ...spec, hosts: ['host0', 'host1'] }]);
    expect(Object.keys(set.stats())).toHaveLength(2);
    p.finishOne();
    p.finishOne();
    await tick();
    expect((await set.claim({ ...spec, owner: 'attendee' })).id).toMatch(/^env/);
    await set.drain();

    const direct = manual();
    const off = new PoolSet(direct, 0);
    const claim = off.claim(spec);
    await tick();
    expect(Object.keys(off.stats())).toHaveLength(0);
    expect(direct.held).toBe(1);
    direct.finishOne();
    expect((await claim).id).toMatch(/^env/);
  });

  it('a claim from a pool a target sizes boots nothing behind it (the target is set again once the claimant is served); a pool of the one size refills', async () => {
    const p = new FakeProvider();
    const targeted = new PoolSet(p, 0);
    await targeted.setTargets([{ spec, size: 2 }]);
    await tick();
    expect(targeted.readyOf(spec)).toBe(2);
    await targeted.claim({ ...spec, owner: 'attendee' });
    await tick();
    expect(p.created).toHaveLength(2);
    expect(targeted.stats()[shapeKey(spec)]).toMatchObject({ ready: 1, size: 1 });
    await targeted.drain();

    const q = new FakeProvider();
    const oneSize = new PoolSet(q, 2);
    oneSize.warm([spec]);
    await tick();
    await oneSize.claim({ ...spec, owner: 'attendee' });
    await tick();
    expect(q.created).toHaveLength(3);
    expect(oneSize.stats()[shapeKey(spec)]).toMatchObject({ ready: 2, size: 2 });
    await oneSize.drain();
  });
});
