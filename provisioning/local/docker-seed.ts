// A ready Docker store (the image's container images already imported) made once per host image by
// booting one host, then copied into each new host's /var/lib/docker: Docker on a fresh host starts
// without importing anything (importing busybox + redis at first start cost ~1.3 s of the boot).
import fs from 'node:fs/promises';
import { run } from '../exec.ts';
import { withDirLock } from '../image/dir-lock.ts';
import { mountIdmapped } from './idmap.ts';
import type { UsernsMount } from './machine.ts';

export const dockerSeedDir = (imageRootfs: string): string => `${imageRootfs}.docker-seed`;

/**
 * Written into a host's Docker directory once the seed is completely there. The copy runs while the host boots
 * (it is not needed before dockerd starts, ~0.5 s after the launch): docker.service waits for this file (host-files.ts).
 */
export const SEED_PLANTED_FILE = '.labwright-planted';

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
 * Copies the seed into a host's (empty) Docker directory, then writes SEED_PLANTED_FILE there. The seed is owned
 * by ids 0… (as a privileged host sees them); an unprivileged host's copy must be owned by its range, so what its
 * root owns is BASE's on disk. For that host the seed is read through an idmapped view of it (ids 0… shown as
 * BASE…, idmap.ts) mounted beside dest for the copy, so cp writes the shifted owners itself: chowning each copied
 * file afterwards (id-ranges.ts shiftOwnership) cost 50–150 ms more per host, three hosts at once.
 */
export async function plantDockerSeed(seed: string, dest: string, userns?: UsernsMount): Promise<void> {
  if (userns) {
    const view = `${dest}.seed-view`;
    await fs.mkdir(view);
    await mountIdmapped(userns.helper, seed, view, userns.base);
    try {
      await run('cp', ['-a', `${view}/.`, `${dest}/`]);
    } finally {
      // Left mounted only if umount itself fails: teardown unmounts everything under the environment.
      await run('umount', [view]);
      await fs.rmdir(view);
    }
  } else {
    await run('cp', ['-a', '--reflink=auto', `${seed}/.`, `${dest}/`]);
  }
  // Without the seed host's network store dockerd creates the default bridge once; with it, it tore that
  // network's firewall rules down and made them again at every first start (~40 of its ~100 iptables runs).
  await Promise.all([`${dest}/.complete`, `${dest}/network/files/local-kv.db`].map((f) => fs.rm(f, { force: true })));
  const planted = `${dest}/${SEED_PLANTED_FILE}`;
  await fs.writeFile(planted, '');
  if (userns) await fs.chown(planted, userns.base, userns.base);
}
