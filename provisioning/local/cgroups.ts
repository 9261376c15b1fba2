// Per-host cgroups on this machine's hybrid hierarchy: name=systemd and unified (so the host's systemd has
// its own subtree and units of different hosts never collide) plus v1 memory and pids (the host's limits).
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = '/sys/fs/cgroup';
export const CGROUP_PARENT = 'labwright';

export interface HostLimits {
  memoryBytes: number;
  pids: number;
}

/** The v1 path of this process for a controller ("memory:/a/b" -> "/a/b"), so our limits nest inside any limit we run under. */
async function ownV1Path(controller: string): Promise<string> {
  const lines = (await fs.readFile('/proc/self/cgroup', 'utf8')).split('\n');
  for (const l of lines) {
    const [, ctls, p] = l.split(':');
    if (ctls?.split(',').includes(controller)) return p ?? '/';
  }
  return '/';
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/** Every directory under which this machine may hold labwright host cgroups (for reaping by name). */
export async function cgroupParents(): Promise<string[]> {
  const out = new Set<string>();
  for (const h of ['systemd', 'unified']) out.add(path.join(ROOT, h, CGROUP_PARENT));
  for (const c of ['memory', 'pids']) {
    out.add(path.join(ROOT, c, CGROUP_PARENT));
    out.add(path.join(ROOT, c, await ownV1Path(c), CGROUP_PARENT));
  }
  const found: string[] = [];
  for (const p of out) if (await exists(p)) found.push(p);
  return found;
}

/** Creates the host's cgroup dirs and sets its limits; returns them in the order the launcher joins them. */
export async function createHostCgroups(machine: string, limits: HostLimits): Promise<string[]> {
  const dirs: string[] = [];
  for (const h of ['systemd', 'unified']) {
    if (!(await exists(path.join(ROOT, h)))) continue;
    const d = path.join(ROOT, h, CGROUP_PARENT, machine);
    await fs.mkdir(d, { recursive: true });
    dirs.push(d);
  }
  const mem = path.join(ROOT, 'memory', await ownV1Path('memory'), CGROUP_PARENT, machine);
  if (await exists(path.join(ROOT, 'memory'))) {
    await fs.mkdir(mem, { recursive: true });
    await fs.writeFile(path.join(mem, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    dirs.push(mem);
  }
  const pids = path.join(ROOT, 'pids', await ownV1Path('pids'), CGROUP_PARENT, machine);
  if (await exists(path.join(ROOT, 'pids'))) {
    await fs.mkdir(pids, { recursive: true });
    await fs.writeFile(path.join(pids, 'pids.max'), String(limits.pids));
    dirs.push(pids);
  }
  return dirs;
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
