// Snapshot and restore of a step on real nspawn hosts (etcd cluster + Docker): what was made after the snapshot
// is gone, what was there before stays, the cluster is healthy again, the environment keeps its id and addresses.
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '../provider.ts';
import { ProvisionError } from '../provider.ts';
import { snapshotDir, spareDir } from './host-snapshots.ts';
import { leftoversOf } from './leftovers.ts';
import type { LocalProvider } from './local-provider.ts';
import { readState } from './state.ts';
import { canRunHosts, sshRun, testConfig, testProvider } from '../testing/host-test-support.ts';

describe.skipIf(!canRunHosts)('local provider: snapshot and restore of a step', () => {
  let provider: LocalProvider;
  let env: Environment;

  beforeAll(async () => {
    provider = await testProvider();
    env = await provider.create({ hosts: ['host0', 'host1'], services: { etcd: 'cluster', docker: true }, owner: 'test' });
  });

  afterAll(async () => {
    if (env) await provider.destroy(env);
  });

  it('refuses to restore a snapshot that was never taken, with a code', async () => {
    await expect(provider.restore(env, 'step')).rejects.toSatisfy((e) => e instanceof ProvisionError && e.code === 'no-snapshot');
  });

  it('puts the hosts back as they were at the snapshot, keeping id, addresses and key', async () => {
    expect((await sshRun(env, 'host0', 'echo before > /root/before.txt && etcdctl put /k before >/dev/null && echo ok')).stdout.trim()).toBe('ok');
    const info = await provider.snapshot(env, 'step');
    expect(info.name).toBe('step');
    expect(info.bytes).toBeGreaterThan(0);
    // The hosts run on after the snapshot (thawed).
    expect((await sshRun(env, 'host1', 'echo after > /root/after.txt && etcdctl put /k after >/dev/null && docker run -d --name late busybox sleep 1000 >/dev/null && echo ok')).stdout.trim()).toBe('ok');

    await provider.restore(env, 'step');

    const listed = (await provider.list()).find((e) => e.id === env.id);
    expect(listed?.hosts.map((h) => h.address)).toEqual(env.hosts.map((h) => h.address));
    expect(listed?.privateKey).toBe(env.privateKey);
    expect((await sshRun(env, 'host0', 'cat /root/before.txt')).stdout.trim()).toBe('before');
    expect((await sshRun(env, 'host1', 'test -e /root/after.txt && echo there || echo gone')).stdout.trim()).toBe('gone');
    expect((await sshRun(env, 'host1', 'docker ps -a --format "{{.Names}}"')).stdout.trim()).toBe('');
    const health = await sshRun(env, 'host1', 'etcdctl endpoint health --cluster 2>&1');
    expect(health.stdout.match(/is healthy/g)).toHaveLength(2);
    expect((await sshRun(env, 'host1', 'etcdctl get --print-value-only /k')).stdout.trim()).toBe('before');
    expect((await sshRun(env, 'host0', 'docker run --rm busybox echo ok')).stdout.trim()).toBe('ok');
  });

  it('can restore the same snapshot again', async () => {
    await sshRun(env, 'host0', 'rm /root/before.txt');
    await provider.restore(env, 'step');
    expect((await sshRun(env, 'host0', 'cat /root/before.txt')).stdout.trim()).toBe('before');
  });

  it('keeps the snapshot on the host’s own disk, and destroy leaves nothing', async () => {
    const st = await readState(testConfig.dataDir, env.id);
    await provider.idle(env.id);
    for (const h of st!.hosts) {
      expect((await fs.stat(snapshotDir(h.dir, 'step'))).isDirectory()).toBe(true);
      // The spare copy the next restore renames into place was made again after the last restore.
      expect(await fs.readFile(`${spareDir(h.dir, 'step')}/snapshot.json`, 'utf8')).toBe(await fs.readFile(`${snapshotDir(h.dir, 'step')}/snapshot.json`, 'utf8'));
      expect((await fs.readdir(`${h.dir}/snapshots`)).filter((n) => n.startsWith('.trash-'))).toEqual([]);
    }
    await provider.destroy(env);
    expect(await leftoversOf(testConfig.dataDir, env.id)).toEqual([]);
  });
});
