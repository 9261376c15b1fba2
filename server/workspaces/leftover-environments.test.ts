// The environments an earlier server process left (leftover-environments.ts), driven through the
// WorkspaceManager as serve does: settled at start, adopted by a returning session, freed at shutdown.
import { describe, expect, it } from 'vitest';
import type { Environment } from '../../provisioning/provider.ts';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import { WorkspaceManager, ownerLabel } from './workspace-manager.ts';
import { memoryOwnership } from '../testing/memory-ownership.ts';

const shape = { hosts: ['host0', 'host1'], services: { etcd: 'cluster' as const, docker: false } };

describe('leftovers of an earlier run, settled through the WorkspaceManager', () => {
  /** Environments that outlived a killed server, and the durable records it left. */
  function leftovers() {
    const provider = new FakeProvider();
    const env = (id: string, owner: string): Environment => provider.seed(id, { hosts: ['host0', 'host1'], services: shape.services, owner });
    const ownership = memoryOwnership();
    const records = ownership.records;
    env('attendee', ownerLabel('att', 'etcd'));
    records.set('att/etcd', 'attendee');
    env('solo', ownerLabel('solo', 'etcd'));
    records.set('solo/etcd', 'solo');
    env('pooled', 'pool');
    env('cli', 'cli');
    const mgr = new WorkspaceManager({ provider, labShape: () => shape, ownership });
    const policy = { keep: (s: string) => s === 'att', graceMs: 40, orphan: (e: Environment) => e.spec.owner === 'pool' };
    return { live: provider.live, destroyed: provider.destroyed, records, mgr, policy };
  }

  it('keeps attendees’ hosts, destroys unowned ones at once and a solo session’s after the grace time', async () => {
    const { live, destroyed, records, mgr, policy } = leftovers();
    expect(await mgr.settleLeftovers(policy)).toEqual({ kept: ['attendee'], waiting: ['solo'], destroyed: ['pooled'], ignored: ['cli'] });
    expect(destroyed).toEqual(['pooled']);
    await expect.poll(() => destroyed).toEqual(['pooled', 'solo']);
    expect(records.has('solo/etcd')).toBe(false);
    expect([...live.keys()]).toEqual(['attendee', 'cli']);
    // The attendee still gets the same hosts back.
    expect((await mgr.acquire('att', 'etcd').whenReady()).id).toBe('attendee');
    await mgr.close();
  });

  it('a solo session that comes back within the grace time adopts its hosts, and they stay', async () => {
    const { destroyed, mgr, policy } = leftovers();
    await mgr.settleLeftovers({ ...policy, graceMs: 30 });
    expect((await mgr.acquire('solo', 'etcd').whenReady()).id).toBe('solo');
    await new Promise((r) => setTimeout(r, 80));
    expect(destroyed).toEqual(['pooled']);
    expect(mgr.get('solo', 'etcd')?.env?.id).toBe('solo');
    await mgr.close();
  });

  it('a clean shutdown frees leftovers still waiting; a released session frees them at once, once', async () => {
    const first = leftovers();
    await first.mgr.settleLeftovers({ ...first.policy, graceMs: 60_000 });
    await first.mgr.close({ keep: (s) => s === 'att' });
    expect(first.destroyed).toEqual(['pooled', 'solo']);
    expect([...first.live.keys()]).toEqual(['attendee', 'cli']);

    const second = leftovers();
    await second.mgr.settleLeftovers({ ...second.policy, graceMs: 30 });
    await second.mgr.release('solo');
    await new Promise((r) => setTimeout(r, 80));
    expect(second.destroyed).toEqual(['pooled', 'solo']);
    await second.mgr.close({ keep: (s) => s === 'att' });
  });
});
