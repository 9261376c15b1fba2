// Snapshots of local hosts ("reset this step"): a copy of each host's own changes — its overlay upper layer and
// its /var/lib/docker — kept on the host's own disk (<hostDir>/snapshots/<name>/), so the host's disk limit bounds
// them and destroy, crash cleanup and `env reap` remove them with the disk. Taken while the host is frozen.
// A spare copy of each snapshot (made afterwards, the host running) is what a restore renames into place, so
// the copy is not on a reset's path; the next spare is made after the host is back.
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../exec.ts';
import { hostPaths } from './machine.ts';

/** What a snapshot may be called: it names a directory. */
export const SNAPSHOT_NAME_RE = /^[a-z0-9][a-z0-9-]{0,39}$/;

export const snapshotsDir = (hostDir: string): string => path.join(hostDir, 'snapshots');
export const snapshotDir = (hostDir: string, name: string): string => path.join(snapshotsDir(hostDir), name);
const META = 'snapshot.json';
/** The spare copy of snapshot `name`: renamed into place by a restore, made again afterwards. */
export const spareDir = (hostDir: string, name: string): string => path.join(snapshotsDir(hostDir), `.spare-${name}`);

export interface HostSnapshotMeta {
  takenAt: number;
}

/** The host's cgroup with a cgroup v2 freezer (cgroup.freeze), if any: the unified one on a hybrid machine. */
export async function freezerOf(cgroups: readonly string[]): Promise<string | undefined> {
  for (const c of cgroups) if (await fs.access(path.join(c, 'cgroup.freeze')).then(() => true, () => false)) return c;
  return undefined;
}

/** Freezes (or thaws) every process of the cgroup and waits until the kernel says they are. */
export async function setFrozen(cgroup: string, frozen: boolean): Promise<void> {
  await fs.writeFile(path.join(cgroup, 'cgroup.freeze'), frozen ? '1' : '0');
  const want = `frozen ${frozen ? 1 : 0}`;
  for (let i = 0; i < 500; i++) {
    const events = await fs.readFile(path.join(cgroup, 'cgroup.events'), 'utf8').catch(() => '');
    if (events.split('\n').includes(want) || !events) return;
    await sleep(i < 50 ? 2 : 20);
  }
  throw new Error(`${cgroup} did not become ${frozen ? 'frozen' : 'thawed'}`);
}

/** Copies a directory tree with owners, modes, xattrs (overlay whiteouts and opaque dirs) and sparse files. */
async function copyTree(from: string, to: string): Promise<void> {
  await run('cp', ['-a', '--sparse=always', from, to]);
}

/** Fills `tmp` with a copy of `upper` and `docker` and the record `meta`: a snapshot or spare, once renamed into place. */
async function copyInto(tmp: string, from: { upper: string; docker: string }, meta: HostSnapshotMeta): Promise<void> {
  await fs.mkdir(tmp, { recursive: true, mode: 0o700 });
  await Promise.all([copyTree(from.upper, path.join(tmp, 'upper')), copyTree(from.docker, path.join(tmp, 'docker'))]);
  await fs.writeFile(path.join(tmp, META), `${JSON.stringify(meta)}\n`, { mode: 0o600 });
}

/** What a host must shed before its snapshot `name` is replaced: the spare and leftovers (run unfrozen, first). */
export async function clearForHostSnapshot(hostDir: string, name: string): Promise<void> {
  const dir = snapshotsDir(hostDir);
  await Promise.all([spareDir(hostDir, name), path.join(dir, `.new-${name}`), path.join(dir, `.old-${name}`)].map((d) => fs.rm(d, { recursive: true, force: true })));
}

/**
 * Saves the host's upper layer and Docker directory as snapshot `name` (the host must be frozen or stopped),
 * replacing an earlier one of that name only once the new one is complete. Only the copy and two renames run
 * here, so the hosts are frozen no longer than that: the replaced one is left for finishHostSnapshot.
 */
export async function saveHostSnapshot(hostDir: string, name: string, takenAt: number): Promise<void> {
  const p = hostPaths(hostDir);
  const dir = snapshotDir(hostDir, name);
  const tmp = path.join(snapshotsDir(hostDir), `.new-${name}`);
  try {
    await copyInto(tmp, p, { takenAt });
    await fs.rename(dir, path.join(snapshotsDir(hostDir), `.old-${name}`)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await fs.rename(tmp, dir);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** After the hosts run again: deletes the replaced snapshot and returns the bytes the new one holds. */
export async function finishHostSnapshot(hostDir: string, name: string): Promise<number> {
  await fs.rm(path.join(snapshotsDir(hostDir), `.old-${name}`), { recursive: true, force: true });
  const du = await run('du', ['-s', '-x', '--block-size=1', snapshotDir(hostDir, name)]);
  return Number(du.stdout.split(/\s/)[0]) || 0;
}

/** The snapshot's record, or undefined when the host has no complete snapshot of that name. */
export async function readHostSnapshot(hostDir: string, name: string): Promise<HostSnapshotMeta | undefined> {
  return readMeta(snapshotDir(hostDir, name));
}

async function readMeta(dir: string): Promise<HostSnapshotMeta | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(path.join(dir, META), 'utf8')) as Partial<HostSnapshotMeta>;
    return typeof parsed.takenAt === 'number' ? { takenAt: parsed.takenAt } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Puts the snapshot back in place of the (stopped, unmounted) host's upper, work and Docker directories.
 * The replaced ones are moved aside first and returned, to be deleted once the host boots again.
 */
export async function putBackHostSnapshot(hostDir: string, name: string, owner: number | undefined): Promise<string> {
  const p = hostPaths(hostDir);
  const src = snapshotDir(hostDir, name);
  const trash = path.join(snapshotsDir(hostDir), `.trash-${Date.now()}`);
  await fs.mkdir(trash, { recursive: true, mode: 0o700 });
  for (const d of [p.upper, p.work, p.docker]) {
    await fs.rename(d, path.join(trash, path.basename(d))).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }
  // The spare of this very snapshot is renamed into place (instant); without one, the snapshot is copied.
  const spare = spareDir(hostDir, name);
  const [meta, spareMeta] = await Promise.all([readMeta(src), readMeta(spare)]);
  if (meta !== undefined && spareMeta?.takenAt === meta.takenAt) {
    await fs.rename(path.join(spare, 'upper'), p.upper);
    await fs.rename(path.join(spare, 'docker'), p.docker);
    await fs.rename(spare, path.join(trash, 'spare'));
  } else {
    await Promise.all([copyTree(path.join(src, 'upper'), p.upper), copyTree(path.join(src, 'docker'), p.docker)]);
  }
  await fs.mkdir(p.work, { recursive: true });
  if (owner !== undefined) await fs.chown(p.work, owner, owner);
  return trash;
}

/** Makes the spare copy of snapshot `name` (replacing a stale one); the host may run meanwhile. */
export async function makeSpare(hostDir: string, name: string): Promise<void> {
  const src = snapshotDir(hostDir, name);
  const meta = await readMeta(src);
  if (!meta) return;
  const spare = spareDir(hostDir, name);
  if ((await readMeta(spare))?.takenAt === meta.takenAt) return;
  const tmp = path.join(snapshotsDir(hostDir), `.spare-new-${name}`);
  await fs.rm(tmp, { recursive: true, force: true });
  try {
    await copyInto(tmp, { upper: path.join(src, 'upper'), docker: path.join(src, 'docker') }, meta);
    await fs.rm(spare, { recursive: true, force: true });
    await fs.rename(tmp, spare);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
