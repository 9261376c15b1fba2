import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecResult } from '../exec-result.ts';
import type { EnvironmentSpec } from '../provider.ts';
import { ProvisionError } from '../provider.ts';
import type { Inventory } from './inventory-file.ts';
import { BUILT_IN_RESET, InventoryProvider } from './inventory-provider.ts';
import type { HostRunner } from './inventory-provider.ts';

let dir: string;
let keyPath: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-inv-provider-'));
  keyPath = path.join(dir, 'key');
  fs.writeFileSync(keyPath, 'PEM');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const host = (name: string, address: string) => ({ name, address, port: 22, user: 'root', keyPath });
const inventory = (): Inventory => ({
  file: 'inv.yaml',
  environments: [
    { name: 'a', line: 2, hosts: [host('host0', '10.0.0.1'), host('host1', '10.0.0.2')] },
    { name: 'b', line: 6, hosts: [host('host0', '10.0.1.1'), host('host1', '10.0.1.2')] },
  ],
});
const spec: EnvironmentSpec = { hosts: ['host0', 'host1'], services: { etcd: 'cluster', docker: false }, owner: 'session:x:lab', reset: 'etcdctl del --prefix /' };
const ok = (stdout = 'labwright-probe\n'): ExecResult => ({ code: 0, signal: null, stdout, stderr: '', truncated: false });

/** A fake of the hosts: addresses in `down` refuse connections; every script run is recorded. */
function fakeHosts(down: Set<string>, failReset = new Set<string>()) {
  const runs: { address: string; script: string }[] = [];
  const run: HostRunner = (h, script) => {
    runs.push({ address: h.address, script });
    if (down.has(h.address)) return Promise.reject(new Error('connect ECONNREFUSED'));
    if (!script.includes('labwright-probe') && failReset.has(h.address)) return Promise.resolve({ code: 1, signal: null, stdout: '', stderr: 'etcdctl: no leader', truncated: false });
    return Promise.resolve(ok());
  };
  return { runs, run };
}

describe('inventory provider', () => {
  it('hands each caller a different free environment, with its hosts and key; none free is a clear error', async () => {
    const { run } = fakeHosts(new Set());
    const p = new InventoryProvider(inventory(), { dataDir: dir, run });
    const [e1, e2] = await Promise.all([p.create(spec), p.create(spec)]);
    expect(new Set([e1.id.split('.')[0], e2.id.split('.')[0]])).toEqual(new Set(['a', 'b']));
    expect(e1.hosts.map((h) => h.name)).toEqual(['host0', 'host1']);
    expect(e1.hosts[0]).toMatchObject({ port: 22, user: 'root', privateKey: 'PEM' });
    expect(e1.privateKeyPath).toBe(keyPath);
    const err = await p.create(spec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisionError);
    expect((err as ProvisionError).code).toBe('none-free');
    expect((err as Error).message).toMatch(/^no environment free: the inventory has 2 for this lab, 2 held by others/);
  });

  it('does not hand out an environment with a host that is down, and says which host and why', async () => {
    const { run } = fakeHosts(new Set(['10.0.0.2']));
    const p = new InventoryProvider(inventory(), { dataDir: dir, run });
    const env = await p.create(spec);
    expect(env.id).toMatch(/^b\./);
    const err = (await p.create(spec).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('1 held by others, 1 down (a: host1 (root@10.0.0.2:22): connect ECONNREFUSED)');
    expect(await p.states()).toEqual([
      { name: 'a', state: 'down', problem: 'host1 (root@10.0.0.2:22): connect ECONNREFUSED' },
      { name: 'b', state: 'held', id: env.id, owner: 'session:x:lab' },
    ]);
  });

  it('probes the services the lab asks for: an environment whose etcd is unhealthy is down', async () => {
    const run: HostRunner = (_h, script) =>
      Promise.resolve(script.includes('etcdctl endpoint health') ? { code: 3, signal: null, stdout: 'labwright-probe\n', stderr: 'etcd is not healthy (etcdctl endpoint health)\n', truncated: false } : ok());
    const p = new InventoryProvider(inventory(), { dataDir: dir, run });
    const err = (await p.create(spec).catch((e: unknown) => e)) as ProvisionError;
    expect(err.code).toBe('none-free');
    expect(err.message).toContain('host0 (root@10.0.0.1:22): etcd is not healthy');
    expect((await p.create({ ...spec, services: { etcd: 'none', docker: false } })).id).toMatch(/^a\./);
  });

  it('runs the lab reset then the built-in one on every host when given back, and frees it; nothing else is run', async () => {
    const { run, runs } = fakeHosts(new Set());
    const p = new InventoryProvider(inventory(), { dataDir: dir, run });
    const env = await p.create(spec);
    runs.length = 0;
    await p.destroy(env);
    expect(runs.map((r) => r.address).sort()).toEqual(['10.0.0.1', '10.0.0.2']);
    for (const r of runs) expect(r.script).toBe(`set -e\n(\netcdctl del --prefix /\n)\n${BUILT_IN_RESET}`);
    expect((await p.states())[0]).toEqual({ name: 'a', state: 'free' });
    await p.destroy(env); // idempotent: no second reset
    expect(runs).toHaveLength(2);
  });

  it('the built-in reset succeeds under set -e on a host with nothing to end (no tmux server, no keeper)', () => {
    const home = fs.mkdtempSync(path.join(dir, 'home-'));
    // Real sh, real pkill; PATH without tmux, as on a host that never had it.
    const r = spawnSync('sh', ['-c', `set -e\n${BUILT_IN_RESET}\necho reset-done`], {
      env: { HOME: home, PATH: '/usr/bin:/bin', TMUX_TMPDIR: home },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('reset-done');
  });

  it('a failed reset keeps the environment from the next attendee until a reset succeeds', async () => {
    const failReset = new Set(['10.0.0.1']);
    const { run } = fakeHosts(new Set(), failReset);
    const inv = inventory();
    inv.environments.pop();
    const p = new InventoryProvider(inv, { dataDir: dir, run });
    const env = await p.create(spec);
    await p.destroy(env);
    expect((await p.states())[0]).toMatchObject({ state: 'dirty', problem: expect.stringContaining('reset exited 1: etcdctl: no leader') as string });
    expect(((await p.create(spec).catch((e: unknown) => e)) as Error).message).toContain('1 waiting for a reset that failed');
    failReset.clear();
    expect((await p.create(spec)).id).toMatch(/^a\./);
  });

  it('survives a restart: a new provider on the same data folder lists what is held and does not hand it out again', async () => {
    const { run } = fakeHosts(new Set());
    const env = await new InventoryProvider(inventory(), { dataDir: dir, run }).create(spec);
    const again = new InventoryProvider(inventory(), { dataDir: dir, run });
    const listed = await again.list();
    expect(listed.map((e) => e.id)).toEqual([env.id]);
    expect(listed[0]).toMatchObject({ spec, creatorPid: process.pid, hosts: env.hosts });
    expect((await again.create(spec)).id).not.toMatch(new RegExp(`^${env.id.split('.')[0]}\\.`));
    await again.destroy(env.id);
    expect((await again.list()).map((e) => e.id)).not.toContain(env.id);
  });

  it('only environments with every host the lab names fit', async () => {
    const { run } = fakeHosts(new Set());
    const p = new InventoryProvider(inventory(), { dataDir: dir, run });
    const err = (await p.create({ ...spec, hosts: ['host0', 'host1', 'host2'] }).catch((e: unknown) => e)) as ProvisionError;
    expect(err.code).toBe('bad-spec');
    expect(err.message).toContain('has the hosts this lab uses (host0, host1, host2)');
    const one = await p.create({ ...spec, hosts: ['host1'] });
    expect(one.hosts.map((h) => h.name)).toEqual(['host1']);
  });
});
