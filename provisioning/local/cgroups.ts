// Per-host cgroups with the host's limits (memory, pids, CPU weight and quota) on any of the three layouts:
// pure cgroup v2, hybrid (v1 controllers + v2 at unified/, like this machine) and legacy v1.
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const CGROUP_ROOT = '/sys/fs/cgroup';
export const CGROUP_PARENT = 'labwright';

export interface HostLimits {
  memoryBytes: number;
  pids: number;
  /** CPU quota in CPUs (1 = one full CPU per period); 0: no quota, only the weight. */
  cpus: number;
  /** Size of the host's disk (applied by host-disk.ts, not by a cgroup). */
  diskBytes: number;
}

/** Where the cgroup filesystems are and which cgroup this process is in (a fake tree in unit tests). */
export interface CgroupSystem {
  root: string;
  /** Contents of /proc/self/cgroup. */
  selfCgroup: string;
}

export type CgroupLayout = 'v2' | 'hybrid' | 'v1';

/** Thrown when a host's limit cannot be applied; the provider refuses to start the host. */
export class LimitsError extends Error {
  override name = 'LimitsError';
  readonly code = 'limits-unavailable';
}

/** The controllers a host's limits need. */
const CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
type Controller = (typeof CONTROLLERS)[number];

/** Weight of one host (and of all hosts together, under the labwright parent) against the server's own processes. */
const V1_SHARES = 1024;
const V2_WEIGHT = 100;
const CPU_PERIOD_US = 100_000;

export async function hostCgroupSystem(): Promise<CgroupSystem> {
  return { root: CGROUP_ROOT, selfCgroup: await fs.readFile('/proc/self/cgroup', 'utf8').catch(() => '') };
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

export async function cgroupLayout(root: string): Promise<CgroupLayout> {
  if (await exists(path.join(root, 'cgroup.controllers'))) return 'v2';
  if (await exists(path.join(root, 'unified', 'cgroup.controllers'))) return 'hybrid';
  return 'v1';
}

/** The v1 path of this process for a controller ("memory:/a/b" -> "/a/b"), so our limits nest inside any limit we run under. */
function ownV1Path(sys: CgroupSystem, controller: string): string {
  for (const l of sys.selfCgroup.split('\n')) {
    const [, ctls, p] = l.split(':');
    if (ctls?.split(',').includes(controller)) return p ?? '/';
  }
  return '/';
}

const v1Dir = (sys: CgroupSystem, c: Controller): string => path.join(sys.root, c, ownV1Path(sys, c), CGROUP_PARENT);

/** Controllers this machine cannot limit hosts with (empty when every limit can be applied). */
export async function missingControllers(sys: CgroupSystem): Promise<Controller[]> {
  if ((await cgroupLayout(sys.root)) === 'v2') {
    const have = (await fs.readFile(path.join(sys.root, 'cgroup.controllers'), 'utf8').catch(() => '')).split(/\s+/);
    return CONTROLLERS.filter((c) => !have.includes(c));
  }
  const missing: Controller[] = [];
  for (const c of CONTROLLERS) if (!(await exists(path.join(sys.root, c, 'cgroup.procs')))) missing.push(c);
  return missing;
}

/** Every directory under which this machine may hold labwright host cgroups (for reaping by name). */
export async function cgroupParents(sys?: CgroupSystem): Promise<string[]> {
  const s = sys ?? (await hostCgroupSystem());
  const out = new Set<string>([path.join(s.root, CGROUP_PARENT)]);
  for (const h of ['systemd', 'unified']) out.add(path.join(s.root, h, CGROUP_PARENT));
  for (const c of CONTROLLERS) {
    out.add(path.join(s.root, c, CGROUP_PARENT));
    out.add(v1Dir(s, c));
  }
  const found: string[] = [];
  for (const p of out) if (await exists(path.join(p, 'cgroup.procs'))) found.push(p);
  return found;
}

/** Writes one control file; a file that is not there means the controller (or the feature) is missing. */
async function writeControl(dir: string, file: string, value: string): Promise<void> {
  const p = path.join(dir, file);
  if (!(await exists(p))) throw new LimitsError(`${p} does not exist`);
  try {
    await fs.writeFile(p, value);
  } catch (e) {
    throw new LimitsError(`writing "${value}" to ${p} failed: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

export interface HostCgroups {
  /** The host's cgroup directories, in the order the launcher joins them. */
  dirs: string[];
  /** Limits that could not be applied (only when allowed; otherwise createHostCgroups throws). */
  skipped: string[];
}

export interface CreateCgroupOptions {
  /** Start the host without a limit that cannot be applied instead of refusing (LABWRIGHT_ALLOW_UNLIMITED_HOSTS). */
  allowUnlimited?: boolean;
  sys?: CgroupSystem;
}

/**
 * Creates the host's cgroup dirs and sets its limits. Refuses (LimitsError, after removing what it made)
 * when a limit cannot be applied, unless allowUnlimited, which returns what it skipped instead.
 */
export async function createHostCgroups(machine: string, limits: HostLimits, opts: CreateCgroupOptions = {}): Promise<HostCgroups> {
  const sys = opts.sys ?? (await hostCgroupSystem());
  const layout = await cgroupLayout(sys.root);
  const dirs: string[] = [];
  const skipped: string[] = [];
  const apply = async (what: string, set: () => Promise<void>): Promise<void> => {
    try {
      await set();
    } catch (e) {
      if (!(e instanceof LimitsError) || !opts.allowUnlimited) throw e;
      skipped.push(`${what} (${e.message})`);
    }
  };
  const quota = limits.cpus > 0 ? Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US)) : undefined;
  try {
    if (layout === 'v2') {
      // One directory under the root (exempt from "no processes in inner cgroups"), controllers enabled down to it.
      const parent = path.join(sys.root, CGROUP_PARENT);
      const d = path.join(parent, machine);
      await fs.mkdir(d, { recursive: true });
      dirs.push(d);
      const missing = await missingControllers(sys);
      const enable = CONTROLLERS.filter((c) => !missing.includes(c))
        .map((c) => `+${c}`)
        .join(' ');
      if (enable) {
        await apply('controllers', async () => {
          await writeControl(sys.root, 'cgroup.subtree_control', enable);
          await writeControl(parent, 'cgroup.subtree_control', enable);
        });
      }
      await apply('memory', async () => {
        if (missing.includes('memory')) throw new LimitsError('the memory controller is not available');
        await writeControl(d, 'memory.max', String(limits.memoryBytes));
        // No swap to spill into: the memory limit is the host's whole budget.
        if (await exists(path.join(d, 'memory.swap.max'))) await writeControl(d, 'memory.swap.max', '0');
      });
      await apply('pids', async () => {
        if (missing.includes('pids')) throw new LimitsError('the pids controller is not available');
        await writeControl(d, 'pids.max', String(limits.pids));
      });
      await apply('cpu', async () => {
        if (missing.includes('cpu')) throw new LimitsError('the cpu controller is not available');
        await writeControl(parent, 'cpu.weight', String(V2_WEIGHT));
        await writeControl(d, 'cpu.weight', String(V2_WEIGHT));
        await writeControl(d, 'cpu.max', `${quota ?? 'max'} ${CPU_PERIOD_US}`);
      });
      return { dirs, skipped };
    }
    // v1 and hybrid: the named systemd hierarchy (and unified, if any) give the host's systemd its own subtree.
    for (const h of ['systemd', 'unified']) {
      if (!(await exists(path.join(sys.root, h, 'cgroup.procs')))) continue;
      const d = path.join(sys.root, h, CGROUP_PARENT, machine);
      await fs.mkdir(d, { recursive: true });
      dirs.push(d);
    }
    const v1 = async (c: Controller, set: (d: string) => Promise<void>): Promise<void> =>
      apply(c, async () => {
        if (!(await exists(path.join(sys.root, c, 'cgroup.procs')))) throw new LimitsError(`the ${c} controller is not mounted at ${path.join(sys.root, c)}`);
        const d = path.join(v1Dir(sys, c), machine);
        await fs.mkdir(d, { recursive: true });
        dirs.push(d);
        await set(d);
      });
    await v1('memory', async (d) => {
      await writeControl(d, 'memory.limit_in_bytes', String(limits.memoryBytes));
      // Memory + swap capped at the same figure: no swap to spill into (the file exists only with swap accounting).
      if (await exists(path.join(d, 'memory.memsw.limit_in_bytes'))) await writeControl(d, 'memory.memsw.limit_in_bytes', String(limits.memoryBytes));
    });
    await v1('pids', (d) => writeControl(d, 'pids.max', String(limits.pids)));
    await v1('cpu', async (d) => {
      await writeControl(path.dirname(d), 'cpu.shares', String(V1_SHARES));
      await writeControl(d, 'cpu.shares', String(V1_SHARES));
      await writeControl(d, 'cpu.cfs_period_us', String(CPU_PERIOD_US));
      await writeControl(d, 'cpu.cfs_quota_us', String(quota ?? -1));
    });
    return { dirs, skipped };
  } catch (e) {
    await removeCgroups(dirs).catch(() => undefined);
    throw e;
  }
}

async function procsIn(dir: string): Promise<number[]> {
  const out: number[] = [];
  const walk = async (d: string): Promise<void> => {
    const raw = await fs.readFile(path.join(d, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const l of raw.split('\n')) if (l) out.push(Number(l));
    const entries = await fs.readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await walk(path.join(d, e.name));
  };
  await walk(dir);
  return out;
}

/**
 * Kills every process of the host (nspawn, the host's systemd and all it started, containers included)
 * and waits until they are gone. Uses cgroup.kill where the kernel has it, SIGKILL per pid otherwise.
 */
export async function killCgroups(dirs: readonly string[]): Promise<void> {
  for (const d of dirs) {
    if (await exists(path.join(d, 'cgroup.kill'))) await fs.writeFile(path.join(d, 'cgroup.kill'), '1').catch(() => undefined);
  }
  for (let attempt = 0; attempt < 400; attempt++) {
    const pids = (await Promise.all(dirs.map(procsIn))).flat();
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(attempt < 20 ? 10 : 50);
  }
  throw new Error(`processes still alive in ${dirs.join(', ')}`);
}

/** Removes the cgroup dirs depth-first (cgroupfs only removes empty leaves). */
export async function removeCgroups(dirs: readonly string[]): Promise<void> {
  const rm = async (d: string): Promise<void> => {
    const entries = await fs.readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await rm(path.join(d, e.name));
    for (let i = 0; i < 50; i++) {
      try {
        await fs.rmdir(d);
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        if (code !== 'EBUSY') throw e;
        await sleep(20);
      }
    }
  };
  for (const d of dirs) await rm(d);
}
