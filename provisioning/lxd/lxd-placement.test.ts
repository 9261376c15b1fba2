import { describe, expect, it } from 'vitest';
import type { LxdApi } from './lxd-placement.ts';
import { createNetwork, placeEnvironment, targetQuery } from './lxd-placement.ts';

/** A cluster as LXD's API describes it: members with a status, instances with a location. */
function fakeLxd(members: { name: string; status: string }[] | null, locations: string[] = []): LxdApi & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    get<T>(path: string): Promise<T> {
      if (path === '/1.0') return Promise.resolve({ environment: { server_clustered: members !== null } } as T);
      if (path.startsWith('/1.0/cluster/members')) return Promise.resolve((members ?? []).map((m) => ({ server_name: m.name, status: m.status })) as T);
      if (path.startsWith('/1.0/instances')) return Promise.resolve(locations.map((location) => ({ location })) as T);
      return Promise.reject(new Error(`unexpected GET ${path}`));
    },
    call(method: string, path: string) {
      calls.push(`${method} ${path}`);
      return Promise.resolve({});
    },
  };
}

describe('placeEnvironment', () => {
  it('outside a cluster chooses nothing and creates the network once', async () => {
    const lxd = fakeLxd(null);
    const p = await placeEnvironment(lxd, 3);
    expect(p.member).toBeUndefined();
    expect(targetQuery(p)).toBe('');
    await createNetwork(lxd, p, { name: 'lxabcde', type: 'bridge', config: {} });
    expect(lxd.calls).toEqual(['POST /1.0/networks']);
  });

  it('puts a whole environment on the online member with the fewest instances, counting ones still being made', async () => {
    const lxd = fakeLxd(
      [
        { name: 'm1', status: 'Online' },
        { name: 'm2', status: 'Online' },
        { name: 'm3', status: 'Offline' },
      ],
      ['m1', 'm1', 'm2'],
    );
    const a = await placeEnvironment(lxd, 2);
    expect(a.member).toBe('m2');
    expect(targetQuery(a)).toBe('?target=m2');
    // Made at the same time, before LXD lists a's instances: the next one goes to m1, never the dead m3.
    const b = await placeEnvironment(lxd, 2);
    expect(b.member).toBe('m1');
    a.release();
    b.release();
    expect((await placeEnvironment(lxd, 1)).member).toBe('m2');
  });

  it('defines a network on every member before creating it on the cluster', async () => {
    const lxd = fakeLxd([
      { name: 'm1', status: 'Online' },
      { name: 'm2', status: 'Online' },
    ]);
    const p = await placeEnvironment(lxd, 1);
    await createNetwork(lxd, p, { name: 'lxabcde', type: 'bridge', config: { 'ipv4.address': '10.0.0.1/24' } });
    expect(lxd.calls).toEqual(['POST /1.0/networks?target=m1', 'POST /1.0/networks?target=m2', 'POST /1.0/networks']);
    p.release();
  });

  it('refuses when no member is online', async () => {
    await expect(placeEnvironment(fakeLxd([{ name: 'm1', status: 'Offline' }]), 1)).rejects.toThrow(/no member of the LXD cluster is online/);
  });
});
