// A ready Docker store (the image's container images already imported) made once per host image by
// booting one host, then copied into each new host's /var/lib/docker: Docker on a fresh host starts
// without importing anything (importing busybox + redis at first start cost ~1.3 s of the boot).
import fs from 'node:fs/promises';
import { run } from '../exec.ts';
import { withDirLock } from '../image/dir-lock.ts';
import { shiftOwnership } from './id-ranges.ts';

export const dockerSeedDir = (imageRootfs: string): string => `${imageRootfs}.docker-seed`;

export async function haveDockerSeed(imageRootfs: string): Promise<boolean> {
  return fs.access(`${dockerSeedDir(imageRootfs)}/.complete`).then(
    () => true,
    () => false,
  );
}

/**
 * Builds the seed with `makeFrom(dest)`, which must fill `dest` with a stopped Docker's data root; locked
 * so concurrent creates build it once, published by rename so a half-copied seed is never used.
 */
export async function ensureDockerSeed(imageRootfs: string, makeFrom: (dest: string) => Promise<void>, signal?: AbortSignal): Promise<string> {
  const dir = dockerSeedDir(imageRootfs);
  if (await haveDockerSeed(imageRootfs)) return dir;
  return withDirLock(
    `${dir}.lock`,
    async () => {
      if (await haveDockerSeed(imageRootfs)) return dir;
      const tmp = `${dir}.tmp`;
      await fs.rm(tmp, { recursive: true, force: true });
      await makeFrom(tmp);
      // The engine id identifies one Docker engine; every host must make its own.
      await fs.rm(`${tmp}/engine-id`, { force: true });
      await fs.writeFile(`${tmp}/.complete`, '');
      await fs.rm(dir, { recursive: true, force: true });
      await fs.rename(tmp, dir);
      return dir;
    },
    { signal },
  );
}

/**
 * Copies the seed into a host's (empty) Docker directory. The seed is owned by ids 0… (as a privileged host
 * sees them); for an unprivileged host they move into its range, so what its root owns is BASE's on disk.
 */
export async function plantDockerSeed(seed: string, dest: string, idBase?: number): Promise<void> {
  await run('cp', ['-a', '--reflink=auto', `${seed}/.`, `${dest}/`]);
  // Without the seed host's network store dockerd creates the default bridge once; with it, it tore that
  // network's firewall rules down and made them again at every first start (~40 of its ~100 iptables runs).
  await Promise.all([`${dest}/.complete`, `${dest}/network/files/local-kv.db`].map((f) => fs.rm(f, { force: true })));
  if (idBase !== undefined) await shiftOwnership(dest, 0, idBase);
}
