// Host limits on fake cgroup trees: pure v2 (other machines), hybrid (this one), and refusal when a
// controller file is missing unless unlimited hosts are allowed.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LimitsError, cgroupLayout, cgroupParents, createHostCgroups, missingControllers } from './cgroups.ts';
import type { CgroupSystem, HostLimits } from './cgroups.ts';

const LIMITS: HostLimits = { memoryBytes: 512 * 2 ** 20, pids: 300, cpus: 1.5, diskBytes: 2 ** 30 };
const MACHINE = 'lwabcde-0';

let root: string;

/** Makes a directory holding the given (empty) control files, as cgroupfs shows them after mkdir. */
async function cgroupDir(dir: string, files: string[]): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const f of ['cgroup.procs', ...files]) await fs.writeFile(path.join(dir, f), '');
}

const read = (...p: string[]): Promise<string> => fs.readFile(path.join(root, ...p), 'utf8');

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'lw-cgroup-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('cgroup v2 (one unified tree at the root)', () => {
  const V2_FILES = ['memory.max', 'memory.swap.max', 'pids.max', 'cpu.weight', 'cpu.max'];
  const sys = (): CgroupSystem => ({ root, selfCgroup: '0::/system.slice/labwright.service\n' });

  beforeEach(async () => {
    await cgroupDir(root, ['cgroup.controllers', 'cgroup.subtree_control']);
    await fs.writeFile(path.join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
    await cgroupDir(path.join(root, 'labwright'), ['cgroup.subtree_control', 'cpu.weight']);
    await cgroupDir(path.join(root, 'labwright', MACHINE), V2_FILES);
  });

  it('puts the host under <root>/labwright with memory, swap, pids, CPU weight and quota set', async () => {
    expect(await cgroupLayout(root)).toBe('v2');
    const cg = await createHostCgroups(MACHINE, LIMITS, { sys: sys() });
    expect(cg).toEqual({ dirs: [path.join(root, 'labwright', MACHINE)], skipped: [] });
    expect(await read('cgroup.subtree_control')).toBe('+memory +pids +cpu');
    expect(await read('labwright', 'cgroup.subtree_control')).toBe('+memory +pids +cpu');
    expect(await read('labwright', MACHINE, 'memory.max')).toBe(String(512 * 2 ** 20));
    expect(await read('labwright', MACHINE, 'memory.swap.max')).toBe('0');
    expect(await read('labwright', MACHINE, 'pids.max')).toBe('300');
    expect(await read('labwright', MACHINE, 'cpu.weight')).toBe('100');
    expect(await read('labwright', MACHINE, 'cpu.max')).toBe('150000 100000');
    expect(await cgroupParents(sys())).toEqual([path.join(root, 'labwright')]);
  });

  it('sets no quota (only the weight) when cpus is 0', async () => {
    await createHostCgroups(MACHINE, { ...LIMITS, cpus: 0 }, { sys: sys() });
    expect(await read('labwright', MACHINE, 'cpu.max')).toBe('max 100000');
  });

  it('refuses when the root does not offer the cpu controller, naming it', async () => {
    await fs.writeFile(path.join(root, 'cgroup.controllers'), 'memory pids\n');
    expect(await missingControllers(sys())).toEqual(['cpu']);
    await expect(createHostCgroups(MACHINE, LIMITS, { sys: sys() })).rejects.toThrow(/cpu controller is not available/);
  });

  it('refuses when a control file is missing (memory.max), and with allowUnlimited applies the rest', async () => {
    await fs.rm(path.join(root, 'labwright', MACHINE, 'memory.max'));
    const err = await createHostCgroups(MACHINE, LIMITS, { sys: sys() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimitsError);
    expect((err as LimitsError).message).toContain(path.join(root, 'labwright', MACHINE, 'memory.max'));
    await cgroupDir(path.join(root, 'labwright', MACHINE), V2_FILES.filter((f) => f !== 'memory.max'));
    const cg = await createHostCgroups(MACHINE, LIMITS, { sys: sys(), allowUnlimited: true });
    expect(cg.skipped).toEqual([expect.stringMatching(/^memory \(.*memory\.max does not exist\)$/)]);
    expect(await read('labwright', MACHINE, 'pids.max')).toBe('300');
    expect(await read('labwright', MACHINE, 'cpu.max')).toBe('150000 100000');
  });
});

describe('cgroup v1 controllers beside cgroup2 at unified/ (hybrid, like this machine)', () => {
  const OWN_MEMORY = '/process_api/abc';
  const sys = (): CgroupSystem => ({
    root,
    selfCgroup: `9:name=systemd:/\n8:pids:/\n4:memory:${OWN_MEMORY}\n1:cpu,cpuacct:/\n0::/\n`,
  });

  beforeEach(async () => {
    for (const h of ['systemd', 'unified']) await cgroupDir(path.join(root, h, 'labwright', MACHINE), []);
    await fs.writeFile(path.join(root, 'unified', 'cgroup.controllers'), '');
    await cgroupDir(path.join(root, 'memory', OWN_MEMORY, 'labwright', MACHINE), ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes']);
    await cgroupDir(path.join(root, 'pids', 'labwright', MACHINE), ['pids.max']);
    await cgroupDir(path.join(root, 'cpu', 'labwright'), ['cpu.shares']);
    await cgroupDir(path.join(root, 'cpu', 'labwright', MACHINE), ['cpu.shares', 'cpu.cfs_period_us', 'cpu.cfs_quota_us']);
    for (const c of ['systemd', 'unified', 'memory', 'pids', 'cpu']) await fs.writeFile(path.join(root, c, 'cgroup.procs'), '');
  });

  it('joins systemd, unified, memory (nested in our own), pids and cpu, each with its limit', async () => {
    expect(await cgroupLayout(root)).toBe('hybrid');
    const cg = await createHostCgroups(MACHINE, LIMITS, { sys: sys() });
    expect(cg.skipped).toEqual([]);
    expect(cg.dirs).toEqual(
      ['systemd/labwright', 'unified/labwright', `memory${OWN_MEMORY}/labwright`, 'pids/labwright', 'cpu/labwright'].map((d) => path.join(root, d, MACHINE)),
    );
    const mem = ['memory', OWN_MEMORY, 'labwright', MACHINE];
    expect(await read(...mem, 'memory.limit_in_bytes')).toBe(String(512 * 2 ** 20));
    expect(await read(...mem, 'memory.memsw.limit_in_bytes')).toBe(String(512 * 2 ** 20));
    expect(await read('pids', 'labwright', MACHINE, 'pids.max')).toBe('300');
    expect(await read('cpu', 'labwright', 'cpu.shares')).toBe('1024');
    expect(await read('cpu', 'labwright', MACHINE, 'cpu.shares')).toBe('1024');
    expect(await read('cpu', 'labwright', MACHINE, 'cpu.cfs_period_us')).toBe('100000');
    expect(await read('cpu', 'labwright', MACHINE, 'cpu.cfs_quota_us')).toBe('150000');
  });

  it('refuses when the cpu controller is not mounted, and with allowUnlimited starts without it', async () => {
    await fs.rm(path.join(root, 'cpu'), { recursive: true });
    expect(await missingControllers(sys())).toEqual(['cpu']);
    await expect(createHostCgroups(MACHINE, LIMITS, { sys: sys() })).rejects.toThrow(/cpu controller is not mounted/);
    const cg = await createHostCgroups(MACHINE, LIMITS, { sys: sys(), allowUnlimited: true });
    expect(cg.skipped).toEqual([expect.stringMatching(/^cpu /)]);
    expect(cg.dirs.some((d) => d.includes(`${path.sep}cpu${path.sep}`))).toBe(false);
    expect(await read('pids', 'labwright', MACHINE, 'pids.max')).toBe('300');
  });

  it('refuses when cpu.cfs_quota_us is missing (a kernel without CFS bandwidth control)', async () => {
    await fs.rm(path.join(root, 'cpu', 'labwright', MACHINE, 'cpu.cfs_quota_us'));
    await expect(createHostCgroups(MACHINE, LIMITS, { sys: sys() })).rejects.toThrow(/cpu\.cfs_quota_us does not exist/);
  });
});
