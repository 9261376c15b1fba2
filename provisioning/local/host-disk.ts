// A disk bound per host: the host's directory (overlay upper and work dirs, /var/lib/docker, console log) is a
// sparse ext4 file of N GiB mounted through a loop device, so a host that fills its disk gets ENOSPC, not the server.
//
// Why a loop file and not project quotas: the server's root filesystem is ext4 mounted without prjquota (turning
// that on needs a remount, tune2fs on an unmounted fs) and XFS is not here; a loop ext4 works on any filesystem.
// Made without a journal (a host lives and dies with this machine: nothing to replay) and with lazily initialised
// inode tables (noinit_itable: a fresh sparse file already reads as zeros), it costs ~0.1 s per host and no space
// until the host writes. Its root is owned by root; an unprivileged host's upper and docker dirs inside it are
// ordinary directories that can be chowned to the host's id range like any other.
import fs from 'node:fs/promises';
import path from 'node:path';
import { run } from '../exec.ts';
import { LimitsError } from './cgroups.ts';

/** The image file of a host's disk: beside the host's directory (which is its mount point), inside the environment's. */
export const diskImageOf = (hostDir: string): string => `${hostDir}.disk.img`;

export interface LoopDevice {
  name: string;
  /** The backing file as the kernel names it ("… (deleted)" once unlinked). */
  backFile: string;
}

/**
 * Creates the host's disk and mounts it on hostDir. Throws LimitsError when it cannot (no mkfs.ext4, no loop
 * devices, mount refused), after removing what it made. Two processes (mkfs, mount): the provider checked
 * once per create that the commands exist.
 */
export async function mountHostDisk(hostDir: string, sizeBytes: number): Promise<void> {
  const img = diskImageOf(hostDir);
  await fs.mkdir(hostDir, { recursive: true });
  try {
    // Exclusive: two creators never share an image.
    await fs.writeFile(img, '', { flag: 'wx', mode: 0o600 });
    await fs.truncate(img, sizeBytes);
    await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-O', '^has_journal', '-E', 'nodiscard,lazy_itable_init=1', '-L', 'labwright-host', img]);
    // nobarrier: an fsync inside the host (dpkg, etcd, docker) need not flush the loop file to the server's
    // disk — a lab host does not outlive a power cut anyway — which made package installs ~3x slower per sync.
    await run('mount', ['-t', 'ext4', '-o', 'loop,noinit_itable,nobarrier', img, hostDir]);
  } catch (e) {
    await fs.rm(img, { force: true });
    if (e instanceof LimitsError) throw e;
    throw new LimitsError(`could not make the host's ${Math.round(sizeBytes / 2 ** 20)} MiB disk: ${e instanceof Error ? e.message : String(e)}`);
  }
  await fs.rm(path.join(hostDir, 'lost+found'), { recursive: true, force: true });
}

/** Loop devices attached now, with their backing files. */
export async function loopDevices(): Promise<LoopDevice[]> {
  const r = await run('losetup', ['-J', '-l', '-O', 'NAME,BACK-FILE']).catch(() => ({ stdout: '' }));
  if (!r.stdout.trim()) return [];
  const parsed = JSON.parse(r.stdout) as { loopdevices?: { name: string; 'back-file'?: string | null }[] };
  return (parsed.loopdevices ?? []).map((l) => ({ name: l.name, backFile: (l['back-file'] ?? '').trim() }));
}

/** Loop devices whose backing file lies under dir (deleted or not). */
export async function loopDevicesUnder(dir: string): Promise<LoopDevice[]> {
  return (await loopDevices()).filter((l) => l.backFile.startsWith(`${dir}/`));
}

/**
 * Detaches every loop device backed by a file under dir. Run after unmounting: a mounted loop made by
 * `mount -o loop` detaches itself at unmount (autoclear); this catches one left by a crash in between.
 */
export async function detachLoopsUnder(dir: string): Promise<void> {
  for (const l of await loopDevicesUnder(dir)) await run('losetup', ['-d', l.name], { okCodes: [0, 1] });
}

/** Environment ids (directory names under envsDir) that still hold a loop device: crash leftovers to reap. */
export async function envIdsWithLoops(envsDir: string): Promise<string[]> {
  const ids = new Set<string>();
  for (const l of await loopDevicesUnder(envsDir)) {
    const id = l.backFile.slice(envsDir.length + 1).split('/')[0];
    if (id) ids.add(id);
  }
  return [...ids];
}
