import { describe, expect, it } from 'vitest';
import { PoolSet } from '../../provisioning/pool-set.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import { ARRIVAL_WINDOW_MS, WorkshopPools, poolTarget } from './workshop-pools.ts';

const shape = { hosts: ['host0', 'host1', 'host2'], services: { etcd: 'cluster' as const, docker: true } };

describe('workshop warm pool sizing', () => {
  it('keeps min(seats − hosted, max(K, joins in the last minute)) warm, none when K is 0', () => {
    // Before anyone comes: K, or the seats when fewer.
    expect(poolTarget({ seats: 30, hosted: 0, recentJoins: 0 }, 3)).toBe(3);
    expect(poolTarget({ seats: 2, hosted: 0, recentJoins: 0 }, 3)).toBe(2);
    // A class arriving faster than K raises it to the arrivals of the last minute…
    expect(poolTarget({ seats: 30, hosted: 10, recentJoins: 10 }, 3)).toBe(10);
    // …capped by the seats whose attendees hold no hosts yet; a workshop whose every seat has hosts keeps nothing warm.
    expect(poolTarget({ seats: 30, hosted: 25, recentJoins: 25 }, 3)).toBe(5);
    expect(poolTarget({ seats: 30, hosted: 30, recentJoins: 30 }, 3)).toBe(0);
    expect(poolTarget({ seats: 30, hosted: 0, recentJoins: 50 }, 0)).toBe(0);
  });

  it('a burst of joins does not shrink the pool under the claims on their way: joined but not yet on hosts still counts', async () => {
    const provider = new FakeProvider();
    const pools = new PoolSet(provider, 0);
    const w = { id: 'w1', labId: 'demo', seats: 10, hosted: 0 };
    const planner = new WorkshopPools({ k: 3, open: () => [w], shape: () => shape, apply: (t) => pools.setTargets(t) });
    await planner.refresh();
    await expect.poll(() => pools.readyOf(shape)).toBe(3);
    const first = [...provider.live.keys()];
    // Eight join at once; each join refreshes the targets before any of them has claimed.
    for (let i = 0; i < 8; i++) await planner.joined('w1');
    expect(planner.targets()[0]?.size).toBe(8); // min(10 − 0, max(3, 8)); sized from joins, it was min(10 − 8, 8) = 2
    // The three ready ones are still there for the first three claims: none was destroyed.
    expect(provider.destroyed.filter((id) => first.includes(id))).toEqual([]);
    const claimed = await Promise.all(Array.from({ length: 3 }, () => pools.claim(shape)));
    expect(claimed.map((e) => e.id).sort()).toEqual([...first].sort());
    planner.close();
    await pools.drain();
  });

  it('moves the pool with joins: it grows while a class arrives, then shrinks as seats fill and arrivals stop', async () => {
    const provider = new FakeProvider();
    const pools = new PoolSet(provider, 0);
    let now = 1_000_000;
    const w = { id: 'w1', labId: 'demo', seats: 8, hosted: 0 };
    const planner = new WorkshopPools({ k: 2, open: () => [w], shape: () => shape, apply: (t) => pools.setTargets(t), now: () => now });
    await planner.refresh();
    const size = (): number => Object.values(pools.stats())[0]?.size ?? 0;
    expect(size()).toBe(2);
    await expect.poll(() => provider.live.size).toBe(2);
    // Five attendees arrive within the minute: each takes a warm environment, the target follows arrivals.
    for (let i = 0; i < 5; i++) {
      await pools.claim(shape);
      w.hosted += 1;
      await planner.joined('w1');
    }
    expect(planner.targets()[0]?.size).toBe(3); // min(8 − 5, max(2, 5))
    expect(size()).toBe(3);
    // Everyone else arrives: the warm environments left over are destroyed, memory goes back.
    w.hosted = 8;
    await planner.refresh();
    expect(size()).toBe(0);
    await expect.poll(() => provider.live.size).toBe(5);
    // The workshop ends (no longer open): nothing is warmed for it again.
    now += ARRIVAL_WINDOW_MS + 1;
    planner.close();
    await pools.drain();
    expect(provider.live.size).toBe(5);
  });

  it('boot ahead: one for every seat whose attendee holds no hosts yet, whatever K, and joins not yet claimed still count', () => {
    expect(poolTarget({ seats: 40, hosted: 0, recentJoins: 0, bootAhead: true }, 3)).toBe(40);
    expect(poolTarget({ seats: 40, hosted: 0, recentJoins: 0, bootAhead: true }, 0)).toBe(40);
    // 25 joined in a burst, 10 of them already on their hosts: 30 kept, not 15 (the 15 on their way claim them).
    expect(poolTarget({ seats: 40, hosted: 10, recentJoins: 25, bootAhead: true }, 3)).toBe(30);
    expect(poolTarget({ seats: 40, hosted: 40, recentJoins: 40, bootAhead: true }, 3)).toBe(0);
  });

  it('boot ahead with pools off (K = 0): fills every seat, a burst claims them all without a boot, unsetting gives the rest back', async () => {
    const provider = new FakeProvider();
    const pools = new PoolSet(provider, 0);
    const w = { id: 'w1', labId: 'demo', seats: 6, hosted: 0, bootAhead: true };
    const planner = new WorkshopPools({ k: 0, enabled: true, open: () => [w], shape: () => shape, apply: (t) => pools.setTargets(t) });
    await planner.refresh();
    await expect.poll(() => pools.readyOf(shape)).toBe(6);
    expect(planner.bootAheadStatus('w1', (s) => pools.readyOf(s))).toEqual({ ready: 6, of: 6 });
    // Four join at once; the pool is refreshed after each join, before any of them has claimed.
    for (let i = 0; i < 4; i++) await planner.joined('w1');
    expect(pools.readyOf(shape)).toBe(6);
    const created = provider.created.length;
    // Claimed as the server claims (each claim lowers the pool by one; the targets are set again after).
    const envs = await Promise.all(Array.from({ length: 4 }, () => pools.claim(shape)));
    expect(new Set(envs.map((e) => e.id)).size).toBe(4);
    w.hosted = 4;
    await planner.refresh();
    expect(planner.bootAheadStatus('w1', (s) => pools.readyOf(s))).toEqual({ ready: 2, of: 2 });
    // No attendee waited for a boot, and nothing was booted behind the claims only to be destroyed.
    expect(provider.created.length - created).toBe(0);
    expect(provider.live.size).toBe(6);
    // Unset: the two left over go; the attendees' four stay.
    w.bootAhead = false;
    await planner.refresh();
    await expect.poll(() => provider.live.size).toBe(4);
    planner.close();
    await pools.drain();
  });

  it('boot-ahead status of several workshops: of = its target, ready = the shape\'s ready environments capped at it; none without a warmable lab', () => {
    const vmShape = { ...shape, vm: true as const };
    const small = { hosts: ['host0'], services: { etcd: 'none' as const, docker: false } };
    const open = [
      { id: 'a1', labId: 'big', seats: 6, hosted: 1, bootAhead: true },
      { id: 'a2', labId: 'big', seats: 3, hosted: 0, bootAhead: true },
      { id: 'b1', labId: 'small', seats: 10, hosted: 0 },
      { id: 'gone', labId: 'no-such-lab', seats: 4, hosted: 0, bootAhead: true },
      { id: 'vm', labId: 'vms', seats: 4, hosted: 0, bootAhead: true },
    ];
    const shapes: Record<string, typeof vmShape | typeof shape | typeof small> = { big: shape, small, vms: vmShape };
    let reads = 0;
    const planner = new WorkshopPools({
      k: 2,
      open: () => {
        reads += 1;
        return open;
      },
      shape: (labId) => shapes[labId],
      apply: () => Promise.resolve(),
    });
    // Ready per shape, shared by the workshops of one lab.
    const readyOf = (s: { hosts: readonly string[] }): number => (s.hosts.length === 3 ? 4 : 7);
    const expected = { a1: { ready: 4, of: 5 }, a2: { ready: 3, of: 3 }, b1: { ready: 2, of: 2 } };
    for (const id of ['a1', 'a2', 'b1', 'gone', 'vm', 'unknown']) expect(planner.bootAheadStatus(id, readyOf)).toEqual(expected[id as keyof typeof expected]);
    // All at once (the refusal of a new boot-ahead sums them): the open workshops are read once, not once per workshop.
    reads = 0;
    expect(Object.fromEntries(planner.bootAheadStatuses(readyOf))).toEqual(expected);
    expect(reads).toBe(1);
    planner.close();
  });

  it('without a target for its shape, a claim creates directly and keeps nothing warm', async () => {
    const provider = new FakeProvider();
    const pools = new PoolSet(provider, 0);
    await pools.claim(shape);
    expect(provider.live.size).toBe(1);
    expect(pools.stats()).toEqual({});
    await pools.drain();
  });
});
