// The inventory provider behind the server's workspaces: one environment per attendee, the page told
// when none is free, the same hosts adopted after a restart, and the lab's reset run when they are freed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Inventory } from '../../provisioning/inventory/inventory-file.ts';
import { InventoryProvider } from '../../provisioning/inventory/inventory-provider.ts';
import type { HostRunner } from '../../provisioning/inventory/inventory-provider.ts';
import { openDurableStore } from '../store/durable-store.ts';
import { WorkspaceManager } from './workspace-manager.ts';

const shape = { hosts: ['host0'], services: { etcd: 'none' as const, docker: false }, reset: 'systemctl restart etcd' };

describe('workspaces on an inventory', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('hands out one environment per attendee, says none is free, adopts after a restart, resets when freed', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-inv-ws-'));
    dirs.push(dir);
    const keyPath = path.join(dir, 'key');
    writeFileSync(keyPath, 'PEM');
    const inventory: Inventory = {
      file: 'inv.yaml',
      environments: ['a', 'b'].map((name, i) => ({ name, line: 1 + i, hosts: [{ name: 'host0', address: `10.0.${i}.1`, port: 22, user: 'root', keyPath }] })),
    };
    const runs: { address: string; script: string }[] = [];
    const run: HostRunner = (h, script) => {
      runs.push({ address: h.address, script });
      return Promise.resolve({ code: 0, signal: null, stdout: 'labwright-probe\n', stderr: '', truncated: false });
    };
    let store = openDurableStore(dir);
    const first = new WorkspaceManager({ provider: new InventoryProvider(inventory, { dataDir: dir, run }), labShape: () => shape, ownership: store.environments });
    const ada = await first.acquire('ada', 'etcd').whenReady();
    const bob = await first.acquire('bob', 'etcd').whenReady();
    expect(new Set([ada.id.split('.')[0], bob.id.split('.')[0]])).toEqual(new Set(['a', 'b']));
    const cy = first.acquire('cy', 'etcd');
    await expect(cy.whenReady()).rejects.toThrow();
    expect(cy.status()).toMatchObject({ state: 'failed', message: expect.stringMatching(/^Could not create the lab hosts: no environment free: the inventory has 2 for this lab, 2 held by others/) as string });
    // The process dies without giving anything back.
    store.close();

    store = openDurableStore(dir);
    const second = new WorkspaceManager({ provider: new InventoryProvider(inventory, { dataDir: dir, run }), labShape: () => shape, ownership: store.environments });
    runs.length = 0;
    expect((await second.acquire('ada', 'etcd').whenReady()).id).toBe(ada.id);
    expect(runs).toEqual([]); // adopted: nothing probed, nothing reset
    await second.release('ada');
    const adaAddress = ada.hosts[0]!.address;
    expect(runs).toEqual([{ address: adaAddress, script: expect.stringContaining('systemctl restart etcd') as string }]);
    expect((await second.acquire('cy', 'etcd').whenReady()).hosts[0]!.address).toBe(adaAddress);
    store.close();
  });
});
