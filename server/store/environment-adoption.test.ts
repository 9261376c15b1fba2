// A restarted server adopts the environment an earlier process recorded for (session, lab)
// instead of creating a new one; a recorded environment that is gone is replaced.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeProvider } from '../../provisioning/testing/fake-provider.ts';
import { WorkspaceManager } from '../workspaces/workspace-manager.ts';
import { openDurableStore } from './durable-store.ts';

const shape = { hosts: ['host0'], services: { etcd: 'none' as const, docker: false } };

describe('environment adoption after a restart', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('re-adopts the recorded environment, and replaces one that is gone', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-adopt-'));
    dirs.push(dir);
    // Its environments outlive each manager, as nspawn hosts outlive a killed server.
    const provider = new FakeProvider();
    let store = openDurableStore(dir);
    const first = new WorkspaceManager({ provider, labShape: () => shape, ownership: store.environments });
    const env1 = await first.acquire('s1', 'etcd').whenReady();
    // The process dies: no close(), the environment stays.
    store.close();

    store = openDurableStore(dir);
    const second = new WorkspaceManager({ provider, labShape: () => shape, ownership: store.environments });
    expect((await second.acquire('s1', 'etcd').whenReady()).id).toBe(env1.id);
    expect(provider.created).toHaveLength(1);

    // Reset: release destroys and forgets it; the next acquire makes a fresh one.
    await second.release('s1');
    expect(provider.live.size).toBe(0);
    expect(store.environments.find('s1', 'etcd')).toBeUndefined();
    expect((await second.acquire('s1', 'etcd').whenReady()).id).toBe('env2');

    // Gone behind our back (host reboot): recorded id not listed → a new environment.
    provider.live.clear();
    store.close();
    store = openDurableStore(dir);
    const third = new WorkspaceManager({ provider, labShape: () => shape, ownership: store.environments });
    expect((await third.acquire('s1', 'etcd').whenReady()).id).toBe('env3');
    store.close();
  });

  it('release() frees an environment the session owns but no process adopted yet', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-adopt-'));
    dirs.push(dir);
    const provider = new FakeProvider();
    const store = openDurableStore(dir);
    const env = await provider.create({ hosts: ['host0'], services: shape.services });
    store.environments.record('s9', 'etcd', env.id);
    const mgr = new WorkspaceManager({ provider, labShape: () => shape, ownership: store.environments });
    await mgr.release('s9');
    expect(provider.live.size).toBe(0);
    expect(store.environments.ofSession('s9')).toEqual([]);
    store.close();
  });
});
