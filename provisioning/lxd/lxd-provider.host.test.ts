// The LXD provider against a real LXD daemon (started here with its own LXD_DIR, stopped at the end if this
// test started it): two unprivileged hosts with etcd and Docker, used through the real ssh client; adoption
// by a new provider; crash leftovers reaped; snapshot/restore; VMs refused clearly where no member has KVM;
// nothing left behind.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProvisionError } from '../provider.ts';
import type { Environment } from '../provider.ts';
import { canRunHosts, sshRun, testConfig } from '../testing/host-test-support.ts';
import { claim, ownerAlive, ownerIn } from '../testing/process-owner.ts';
import { pidAlive } from '../image/dir-lock.ts';
import { ensureImage } from '../image/build-image.ts';
import { KEY, instanceName, networkConfig, networkName } from './lxd-config.ts';
import { daemonAnswers, loopDevicesUnder, stopDaemon } from './lxd-daemon.ts';
import { lxdLeftoversOf } from './lxd-leftovers.ts';
import { createLxdProvider, stopLocalLxd } from './lxd-provider.ts';
import type { LxdProvider, LxdProviderConfig } from './lxd-provider.ts';

const config: LxdProviderConfig = { ...testConfig, lxdDir: path.join(testConfig.cacheDir, 'lxd'), lxdPoolGb: 50, hostPids: 3000, hostMemoryMb: 768 };

describe.skipIf(!canRunHosts)('lxd provider: 2 hosts with etcd and docker on a real LXD daemon', () => {
  let provider: LxdProvider;
  let env: Environment;
  const phases = new Set<string>();

  // Which test process owns the daemon it started (a file beside the daemon's): a run killed before its
  // afterAll leaves the daemon running and its environment ready; the next run takes both over (a new
  // provider would adopt the environment and nobody would destroy it, and the daemon would never stop).
  const ownerFile = path.join(config.lxdDir, 'test-owner.json');
  let ownsDaemon = false;
  /** When this run began, as LXD's log writes times (UTC, whole seconds). */
  let startedAt = '';

  beforeAll(async () => {
    await ensureImage({ cacheDir: config.cacheDir });
    startedAt = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    const before = await ownerIn(ownerFile);
    const orphaned = before !== undefined && !(await ownerAlive(before)) && (await daemonAnswers(config.lxdDir));
    provider = createLxdProvider(config, { readyTimeoutMs: 150_000 });
    for (const left of await provider.list()) {
      if (left.spec.owner === 'test' && left.creatorPid !== undefined && !pidAlive(left.creatorPid)) await provider.destroy(left);
    }
    ownsDaemon = provider.startedDaemon || orphaned;
    if (ownsDaemon) await claim(ownerFile);
    env = await provider.create({ hosts: ['host0', 'host1'], services: { etcd: 'cluster', docker: true }, owner: 'test' }, { onProgress: (p) => phases.add(p.phase) });
  });

  afterAll(async () => {
    if (env) await provider.destroy(env).catch(() => undefined);
    provider?.close();
    if (ownsDaemon) {
      await stopDaemon(config.lxdDir);
      await fs.rm(ownerFile, { force: true });
    }
  });

  it('keeps the daemon it started from reaching out: its instance-type refresh goes to a closed loopback proxy, no DNS lookup', async () => {
    if (!provider.startedDaemon) return; // a daemon started before this test, with whatever environment it had
    const log = path.join(config.lxdDir, 'lxd.log');
    // LXD tries to refresh its instance types as it starts; the log is appended to, so the last such line is this daemon's.
    let last: string | undefined;
    for (let i = 0; i < 300 && last === undefined; i++) {
      const lines = (await fs.readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l.includes('Failed to update instance types'));
      last = lines.filter((l) => (/time="([^"]+)"/.exec(l)?.[1] ?? '') >= startedAt).at(-1);
      if (last === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(last).toContain('127.0.0.1:9');
    expect(last).not.toMatch(/lookup|images\.linuxcontainers\.org on /);
  });

  it('reports progress through network, boot and readiness', () => {
    expect([...phases]).toEqual(expect.arrayContaining(['network', 'boot', 'services', 'ready']));
  });

  it('runs each host unprivileged, in an id range of its own, with a running systemd', async () => {
    const bases = new Set<string>();
    for (const h of env.hosts) {
      const r = await sshRun(env, h.name, 'hostname; systemctl is-system-running; cat /proc/self/uid_map');
      const [name, state, map] = r.stdout.trim().split('\n');
      expect([name, state]).toEqual([h.name, 'running']);
      const [inside, outside] = (map ?? '').trim().split(/\s+/);
      expect(inside).toBe('0');
      expect(Number(outside)).toBeGreaterThan(0);
      bases.add(outside!);
    }
    expect(bases.size).toBe(2);
  });

  it('runs a healthy two-member etcd cluster, written on one host and read on the other', async () => {
    const r = await sshRun(env, 'host1', 'etcdctl endpoint health --cluster 2>&1');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/is healthy/g)).toHaveLength(2);
    expect((await sshRun(env, 'host0', 'etcdctl put /t from-host0 >/dev/null && echo put')).stdout.trim()).toBe('put');
    expect((await sshRun(env, 'host1', 'etcdctl get --print-value-only /t')).stdout.trim()).toBe('from-host0');
  });

  it('runs containers from the built-in busybox image with no registry', async () => {
    expect((await sshRun(env, 'host1', 'docker run --rm busybox echo ok')).stdout.trim()).toBe('ok');
  });

  it('applies the configured memory and process limits to each host', async () => {
    const r = await sshRun(env, 'host0', 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max');
    const [mem, pids] = r.stdout.trim().split('\n');
    expect(Number(mem)).toBe(config.hostMemoryMb * 2 ** 20);
    expect(pids).toBe(String(config.hostPids));
  });

  it('keeps hosts off the server machine: a port listening on the bridge address is unreachable from a host', async () => {
    const gateway = env.hosts[0]!.address.replace(/\.\d+$/, (m) => `.${Number(m.slice(1)) - 1}`);
    const server = net.createServer((sock) => sock.end());
    await new Promise<void>((resolve) => server.listen(0, gateway, resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const r = await sshRun(env, 'host0', `nc -z -w1 ${gateway} ${port} && echo reached || echo blocked`);
      expect(r.stdout.trim()).toBe('blocked');
      expect((await sshRun(env, 'host0', 'ping -c1 -W2 host1 >/dev/null && echo reached')).stdout.trim()).toBe('reached');
    } finally {
      server.close();
    }
  });

  it('is adopted by a new provider (a restarted server): listed with the same hosts and key', async () => {
    const again = createLxdProvider(config);
    try {
      const report = await again.recover();
      expect(report.adopted).toContain(env.id);
      const listed = (await again.list()).find((e) => e.id === env.id);
      expect(listed?.hosts).toEqual(env.hosts);
      expect(listed?.privateKey).toBe(env.privateKey);
    } finally {
      again.close();
    }
  });

  it('reaps what a crashed create left (a network and a stopped instance of a dead process)', async () => {
    const dead = spawnSync('true').pid;
    const client = await provider.client();
    const id = 'lxdead0';
    const net0 = networkConfig(id, '10.213.255.225', 27);
    await client.call('POST', '/1.0/networks', { body: { ...net0, config: { ...net0.config, 'user.labwright.creator-pid': String(dead) } } });
    const image = (await client.get<{ target: string }[]>('/1.0/images/aliases?recursion=1')).find((a) => a.target)!.target;
    await client.call('POST', '/1.0/instances', {
      body: {
        name: instanceName(id, 0),
        type: 'container',
        profiles: [],
        source: { type: 'image', fingerprint: image },
        config: { [KEY.env]: id, [KEY.index]: '0', [KEY.status]: 'creating', [KEY.creatorPid]: String(dead), 'security.idmap.isolated': 'true' },
        devices: { root: { type: 'disk', path: '/', pool: 'labwright' }, host0: { type: 'nic', network: networkName(id), name: 'host0' } },
      },
    });
    const report = await provider.recover();
    expect(report.reaped).toContain(id);
    expect(report.reaped).not.toContain(env.id);
    expect(await lxdLeftoversOf(client, config.dataDir, id)).toEqual([]);
  });

  it("puts every host back to a snapshot (LXD's own): a file written after it is gone, etcd healthy again", async () => {
    await sshRun(env, 'host0', 'echo before > /root/mark');
    const snap = await provider.snapshot(env, 'step-1');
    expect(snap.name).toBe('step-1');
    // A restarted server asks whether the snapshot it recorded is still there: the same takenAt, or none.
    expect(await provider.snapshotInfo(env, 'step-1')).toEqual({ name: 'step-1', takenAt: snap.takenAt });
    expect(await provider.snapshotInfo(env, 'never-taken')).toBeUndefined();
    await sshRun(env, 'host0', 'echo after > /root/mark; touch /root/later');
    await provider.restore(env, 'step-1');
    expect((await sshRun(env, 'host0', 'cat /root/mark; ls /root/later 2>/dev/null || echo no-later')).stdout.trim().split('\n')).toEqual(['before', 'no-later']);
    expect((await sshRun(env, 'host1', 'etcdctl endpoint health --cluster 2>&1')).stdout.match(/is healthy/g)).toHaveLength(2);
    // One host's snapshot lost (deleted behind Labwright's back) → the environment has no such snapshot.
    const client = await provider.client();
    const [first] = (await client.get<string[]>('/1.0/instances')).filter((u) => u.includes(env.id));
    await client.call('DELETE', `${first!.replace(/\?.*$/, '')}/snapshots/step-1`);
    expect(await provider.snapshotInfo(env, 'step-1')).toBeUndefined();
  });

  it('refuses VMs with a clear reason when no member can run them', async () => {
    const why = await provider.vmProblem();
    if (why === undefined) return; // a machine with KVM: nothing to refuse here
    const err = await provider.create({ hosts: ['vm0'], services: { etcd: 'none', docker: false }, vm: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisionError);
    expect((err as ProvisionError).code).toBe('isolation-unavailable');
    expect((err as ProvisionError).message).toMatch(/no LXD member can run virtual machines/);
  });

  it('destroys everything it created (instances, network, firewall rules, key), and a second destroy is harmless', async () => {
    await provider.destroy(env);
    const client = await provider.client();
    expect(await lxdLeftoversOf(client, config.dataDir, env.id)).toEqual([]);
    await provider.destroy(env.id);
    expect((await provider.list()).some((e) => e.id === env.id)).toBe(false);
    expect(await fs.readdir(path.join(config.dataDir, 'lxd-envs')).catch(() => [])).not.toContain(env.id);
  });

  it('env lxd-stop (stopLocalLxd) destroys what is left and stops the daemon Labwright started, with its storage pool mount', async () => {
    if (!ownsDaemon) return; // someone else's daemon (a developer's running server): not ours to stop
    const left = await provider.create({ hosts: ['host0'], services: { etcd: 'none', docker: false }, owner: 'test' });
    provider.close();
    expect(await stopLocalLxd(config)).toEqual({ wasRunning: true, destroyed: [left.id] });
    expect(await daemonAnswers(config.lxdDir)).toBe(false);
    const mounts = await fs.readFile('/proc/mounts', 'utf8');
    expect(mounts.split('\n').filter((l) => l.includes(config.lxdDir))).toEqual([]);
    expect(await loopDevicesUnder(config.lxdDir)).toEqual([]);
    expect(await fs.readdir(path.join(config.dataDir, 'lxd-envs')).catch(() => [])).not.toContain(left.id);
    expect(await stopLocalLxd(config)).toEqual({ wasRunning: false, destroyed: [] });
  });
});
