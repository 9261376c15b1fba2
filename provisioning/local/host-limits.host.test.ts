// Each real host runs under its limits, read from outside (the host's own cgroup files) and felt from inside:
// memory (an allocation beyond it is killed, the host lives on), pids, CPU (weight + quota, and throttling
// under load), and a disk of its own size. The attack-style versions live in server/hostile/hosts.host.test.ts.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '../provider.ts';
import { leftoversOf } from './leftovers.ts';
import { createLocalProvider } from './local-provider.ts';
import type { LocalProvider } from './local-provider.ts';
import { diskImageOf, loopDevicesUnder } from './host-disk.ts';
import { run } from '../exec.ts';
import { readState } from './state.ts';
import type { HostState } from './state.ts';
import { canRunHosts, sshRun, testConfig, testProvider } from '../testing/host-test-support.ts';

const MiB = 2 ** 20;
const LIMITS = { memoryBytes: 256 * MiB, pids: 700, cpus: 0.5, diskBytes: 768 * MiB };

/** The host's cgroup directory that has `file` (one per v1 controller, or the single v2 one). */
async function controlFile(h: HostState, file: string): Promise<string> {
  for (const d of h.cgroups) {
    const p = path.join(d, file);
    if (await fs.access(p).then(() => true, () => false)) return p;
  }
  throw new Error(`no cgroup of ${h.machine} has ${file} (${h.cgroups.join(', ')})`);
}
async function procsUnder(dir: string): Promise<number[]> {
  const out = (await fs.readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) out.push(...(await procsUnder(path.join(dir, e.name))));
  return out;
}
const readControl = async (h: HostState, file: string): Promise<string> => (await fs.readFile(await controlFile(h, file), 'utf8')).trim();

describe.skipIf(!canRunHosts)('host limits on a real host', () => {
  let provider: LocalProvider;
  let env: Environment;
  let host: HostState;
  let v2 = false;

  beforeAll(async () => {
    await testProvider(); // the image
    provider = createLocalProvider(testConfig, { readyTimeoutMs: 120_000, limits: LIMITS });
    env = await provider.create({ hosts: ['host0'], services: { etcd: 'none', docker: true }, owner: 'test' });
    host = (await readState(testConfig.dataDir, env.id))!.hosts[0]!;
    v2 = host.cgroups.length === 1;
  });

  afterAll(async () => {
    if (env) {
      await provider.destroy(env);
      expect(await leftoversOf(testConfig.dataDir, env.id)).toEqual([]);
    }
  });

  it('sets the memory limit on the host cgroup, and an allocation beyond it is killed while the host lives on', async () => {
    expect(Number(await readControl(host, v2 ? 'memory.max' : 'memory.limit_in_bytes'))).toBe(LIMITS.memoryBytes);
    // tail keeps a line without a newline in memory: 400 MiB of zeros is one such line.
    const r = await sshRun(env, 'host0', 'head -c 400M /dev/zero | tail > /dev/null; echo "status=$?"');
    expect(r.stdout).toMatch(/status=137/);
    const oomKills = v2 ? /^oom_kill (\d+)$/m.exec(await readControl(host, 'memory.events')) : /^oom_kill (\d+)$/m.exec(await readControl(host, 'memory.oom_control'));
    expect(Number(oomKills?.[1])).toBeGreaterThan(0);
    expect((await sshRun(env, 'host0', 'systemctl is-system-running')).stdout.trim()).toBe('running');
  });

  it('sets the pids limit on the host cgroup', async () => {
    expect(await readControl(host, 'pids.max')).toBe(String(LIMITS.pids));
  });

  it('sets a CPU weight and a quota of 0.5 CPU, and a host spinning two CPUs runs under that quota', async () => {
    if (v2) {
      expect(await readControl(host, 'cpu.weight')).toBe('100');
      expect(await readControl(host, 'cpu.max')).toBe('50000 100000');
    } else {
      expect(await readControl(host, 'cpu.shares')).toBe('1024');
      expect(await readControl(host, 'cpu.cfs_quota_us')).toBe('50000');
      expect(await readControl(host, 'cpu.cfs_period_us')).toBe('100000');
    }
    // The spinning shells run inside that cgroup, under the quota (bandwidth periods tick). Whether they get
    // throttled depends on what else the machine runs, so that is not asserted.
    const cpuDir = path.dirname(await controlFile(host, v2 ? 'cpu.max' : 'cpu.cfs_quota_us'));
    const periods = async (): Promise<number> => Number(/^nr_periods (\d+)$/m.exec(await fs.readFile(path.join(cpuDir, 'cpu.stat'), 'utf8'))?.[1] ?? 0);
    const before = await periods();
    let spinnerSeen = false;
    const watch = async (): Promise<void> => {
      for (let i = 0; i < 200 && !spinnerSeen; i++) {
        for (const pid of await procsUnder(cpuDir)) {
          if ((await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).includes('lw-spin')) spinnerSeen = true;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    await Promise.all([sshRun(env, 'host0', "timeout 3 sh -c ': lw-spin; while :; do :; done' & timeout 3 sh -c ': lw-spin; while :; do :; done'; wait"), watch()]);
    expect(spinnerSeen).toBe(true);
    expect(await periods()).toBeGreaterThan(before);
  });

  it('gives the host a disk of its own size for / (the overlay upper dir) and /var/lib/docker', async () => {
    const r = await sshRun(env, 'host0', 'df -B1 --output=size / /var/lib/docker | tail -n +2');
    const sizes = r.stdout.trim().split('\n').map(Number);
    expect(sizes).toHaveLength(2);
    for (const s of sizes) {
      expect(s).toBeLessThanOrEqual(LIMITS.diskBytes);
      expect(s).toBeGreaterThan(LIMITS.diskBytes * 0.9);
    }
    // Sparse: the image takes on the server only what the host wrote (the Docker seed, a booted system).
    const st = await fs.stat(diskImageOf(host.dir));
    expect(st.size).toBe(LIMITS.diskBytes);
    expect(st.blocks * 512).toBeLessThan(LIMITS.diskBytes / 4);
  });
});

describe.skipIf(!canRunHosts)('a host whose limits cannot be applied', () => {
  // A disk larger than ext4 allows for one file: making it fails, as a missing loop device or mkfs would.
  const impossible = { diskBytes: 2 ** 50 };

  it('is refused with a message naming the setting that would allow it, and nothing is left behind', async () => {
    await testProvider();
    const provider = createLocalProvider(testConfig, { limits: impossible });
    let id = '';
    const err = await provider
      .create({ hosts: ['host0'], services: { etcd: 'none', docker: false }, owner: 'test' }, { onProgress: (p) => (id ||= /(lw[a-z0-9]{5})-br/.exec(p.message)?.[1] ?? '') })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'limits-unavailable' });
    expect(String((err as Error).message)).toMatch(/refusing to start hosts without their limits: .*LABWRIGHT_ALLOW_UNLIMITED_HOSTS=1/);
    expect(id).toMatch(/^lw/);
    expect(await leftoversOf(testConfig.dataDir, id)).toEqual([]);
  });

  it('starts without that limit when LABWRIGHT_ALLOW_UNLIMITED_HOSTS is set', async () => {
    const provider = createLocalProvider({ ...testConfig, allowUnlimitedHosts: true }, { readyTimeoutMs: 120_000, limits: impossible });
    const env = await provider.create({ hosts: ['host0'], services: { etcd: 'none', docker: false }, owner: 'test' });
    try {
      expect((await sshRun(env, 'host0', 'systemctl is-system-running')).stdout.trim()).toBe('running');
      const host = (await readState(testConfig.dataDir, env.id))!.hosts[0]!;
      // The cgroup limits that could be applied still are.
      expect(await readControl(host, 'pids.max')).toBe(String(testConfig.hostPids));
      await expect(fs.access(diskImageOf(host.dir))).rejects.toThrow();
    } finally {
      await provider.destroy(env);
    }
    expect(await leftoversOf(testConfig.dataDir, env.id)).toEqual([]);
  });
});

describe.skipIf(!canRunHosts)('host disks left by a crash', () => {
  it('recover() detaches loop devices of a dead environment, also when its directory is already gone', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lw-disk-crash-'));
    const provider = createLocalProvider({ ...testConfig, dataDir });
    // Two crash shapes: an environment directory without state (died between losetup and mount), and a
    // loop whose image was deleted with its directory (died during a teardown whose unmount was lazy).
    const [stale, gone] = ['lwcrsh1', 'lwcrsh2'];
    try {
      for (const id of [stale, gone]) {
        const img = path.join(dataDir, 'envs', id, 'hosts', 'host0.disk.img');
        await fs.mkdir(path.dirname(img), { recursive: true });
        await fs.writeFile(img, '');
        await fs.truncate(img, 64 * MiB);
        await run('losetup', ['-f', img]);
      }
      const old = new Date(Date.now() - 60_000);
      await fs.utimes(path.join(dataDir, 'envs', stale), old, old);
      await fs.rm(path.join(dataDir, 'envs', gone), { recursive: true });
      expect(await loopDevicesUnder(path.join(dataDir, 'envs'))).toHaveLength(2);

      const report = await provider.recover();
      expect(report.reaped).toEqual(expect.arrayContaining([stale, gone]));
      expect(await loopDevicesUnder(path.join(dataDir, 'envs'))).toEqual([]);
      expect(await leftoversOf(dataDir, stale)).toEqual([]);
      expect(await leftoversOf(dataDir, gone)).toEqual([]);
    } finally {
      for (const l of await loopDevicesUnder(dataDir)) await run('losetup', ['-d', l.name], { okCodes: [0, 1] });
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
