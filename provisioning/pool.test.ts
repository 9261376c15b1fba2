import { describe, expect, it } from 'vitest';
import { PoolSet } from './pool-set.ts';
import { WarmPool } from './pool.ts';
import type { CreateOptions, Environment, EnvironmentSpec, Provider } from './provider.ts';

/** A provider whose creates finish when the test says so, to observe the pool's refill and drain. */
class ManualProvider implements Provider {
  readonly name = 'manual';
  readonly pending: { resolve: (e: Environment) => void; reject: (e: Error) => void }[] = [];
  readonly destroyed: string[] = [];
  private n = 0;
  create(spec: EnvironmentSpec, opts?: CreateOptions): Promise<Environment> {
    return new Promise((resolve, reject) => {
      opts?.signal?.addEventListener('abort', () => reject(new Error('aborted')));
      this.pending.push({ resolve, reject });
      void spec;
    });
  }
  finishOne(): void {
    const p = this.pending.shift();
    const id = `e${this.n++}`;
    p?.resolve({ id, provider: this.name, spec: { hosts: ['host0'], services: { etcd: 'none', docker: false } }, hosts: [], privateKey: '', privateKeyPath: '', createdAt: 0 });
  }
  destroy(env: Environment | string): Promise<void> {
    this.destroyed.push(typeof env === 'string' ? env : env.id);
    return Promise.resolve();
  }
  list(): Promise<Environment[]> {
    return Promise.resolve([]);
  }
}

const spec: EnvironmentSpec = { hosts: ['host0'], services: { etcd: 'none', docker: false } };
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('warm pool', () => {
  it('fills to its size, hands out ready environments, and refills behind each claim', async () => {
    const p = new ManualProvider();
    const pool = new WarmPool(p, spec, 2, 2);
    expect(pool.stats()).toMatchObject({ ready: 0, creating: 2 });
    p.finishOne();
    p.finishOne();
    await pool.waitReady();
    const env = await pool.claim();
    expect(env.id).toBe('e0');
    await tick();
    expect(pool.stats()).toMatchObject({ ready: 1, creating: 1, claimed: 1 });
    await pool.drain();
  });

  it('creates on demand when empty instead of failing the claim', async () => {
    const p = new ManualProvider();
    const pool = new WarmPool(p, spec, 1, 1);
    const claim = pool.claim();
    await tick();
    p.finishOne(); // the background refill
    p.finishOne(); // the on-demand create
    expect((await claim).id).toMatch(/^e[01]$/);
    await pool.drain();
  });

  it('drain cancels creates in flight and destroys what is ready', async () => {
    const p = new ManualProvider();
    const pool = new WarmPool(p, spec, 2, 1);
    p.finishOne();
    await pool.waitReady(1);
    await tick();
    expect(pool.stats().creating).toBe(1);
    await pool.drain();
    expect(p.destroyed).toEqual(['e0']);
    expect(pool.stats()).toMatchObject({ ready: 0, creating: 0 });
    await expect(pool.claim()).rejects.toThrow(/draining/);
  });
});

describe('pool set', () => {
  it('keeps one pool per shape, ignores owners, and creates directly when the size is 0', async () => {
    const p = new ManualProvider();
    const set = new PoolSet(p, 1);
    set.warm([spec, { ...spec, owner: 'someone' }, { ...spec, hosts: ['host0', 'host1'] }]);
    expect(Object.keys(set.stats())).toHaveLength(2);
    p.finishOne();
    p.finishOne();
    await tick();
    expect((await set.claim({ ...spec, owner: 'attendee' })).id).toMatch(/^e/);
    await set.drain();

    const direct = new ManualProvider();
    const off = new PoolSet(direct, 0);
    const claim = off.claim(spec);
    await tick();
    expect(Object.keys(off.stats())).toHaveLength(0);
    expect(direct.pending).toHaveLength(1);
    direct.finishOne();
    expect((await claim).id).toMatch(/^e/);
  });
});
