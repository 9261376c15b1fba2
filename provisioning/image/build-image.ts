// Builds (once) and caches the lab host root filesystem: debootstrap minbase + the recipe's packages and
// settings, keyed by the recipe hash under <cacheDir>/images/<hash>. A lock keeps two processes from building at once.
import fs from 'node:fs/promises';
import path from 'node:path';
import { run } from '../exec.ts';
import { ProvisionError } from '../provider.ts';
import type { ProvisionProgress } from '../provider.ts';
import { CONFIGURE_SCRIPT, CONTAINER_IMAGES, IMAGE_TARBALL_DIR, MIRROR, PACKAGES, SUITE, recipeHash } from './recipe.ts';
import { withDirLock } from './dir-lock.ts';
import {
  APT_MIRROR_DIR,
  APT_MIRROR_PACKAGES,
  BASE_ROOTFS_TARBALL,
  CONTAINER_IMAGE_BINARIES,
  HOST_FILES,
  LABS_CONFIGURE_SCRIPT,
  hostFileSource,
} from './lab-content.ts';

export interface ImageOptions {
  cacheDir: string;
  signal?: AbortSignal;
  onProgress?: (p: ProvisionProgress) => void;
  /** Rebuild even if a cached image with this recipe exists. */
  force?: boolean;
}

export interface ImageInfo {
  hash: string;
  /** The root filesystem, used read-only as the overlay lower layer of every host. */
  rootfs: string;
  builtAt: number;
  sizeBytes?: number;
}

const TOTAL = 1000;

export function imagesDir(cacheDir: string): string {
  return path.join(cacheDir, 'images');
}

async function readInfo(cacheDir: string, hash: string): Promise<ImageInfo | undefined> {
  try {
    const raw = await fs.readFile(path.join(imagesDir(cacheDir), `${hash}.json`), 'utf8');
    const info = JSON.parse(raw) as ImageInfo;
    await fs.access(path.join(info.rootfs, 'usr/sbin/sshd'));
    return info;
  } catch {
    return undefined;
  }
}

/** The cached image for the current recipe, if it has been built. */
export function cachedImage(cacheDir: string): Promise<ImageInfo | undefined> {
  return readInfo(cacheDir, recipeHash());
}

/** Returns the cached image for the current recipe, building it first when needed. */
export async function ensureImage(opts: ImageOptions): Promise<ImageInfo> {
  const hash = recipeHash();
  if (!opts.force) {
    const have = await readInfo(opts.cacheDir, hash);
    if (have) return have;
  }
  const dir = imagesDir(opts.cacheDir);
  await fs.mkdir(dir, { recursive: true });
  return withDirLock(
    path.join(dir, '.build.lock'),
    async () => {
      // Another process may have finished the build while we waited for the lock.
      if (!opts.force) {
        const have = await readInfo(opts.cacheDir, hash);
        if (have) return have;
      }
      return build(opts, hash);
    },
    {
      signal: opts.signal,
      onWait: () => opts.onProgress?.({ phase: 'image', done: 0, total: TOTAL, message: 'waiting for another image build to finish' }),
    },
  );
}

async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await fs.readFile('/proc/mounts', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m], { okCodes: [0, 32] });
}

async function build(opts: ImageOptions, hash: string): Promise<ImageInfo> {
  const dir = imagesDir(opts.cacheDir);
  const tmp = path.join(dir, `${hash}.building`);
  const final = path.join(dir, hash);
  const report = (done: number, message: string): void =>
    opts.onProgress?.({ phase: 'image', done: Math.min(TOTAL, Math.round(done)), total: TOTAL, message });
  const { signal } = opts;

  await unmountUnder(tmp);
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  try {
    // 1. debootstrap (0..450): progress from its "I: Retrieving/Extracting/Unpacking/Configuring" lines.
    report(0, `debootstrap ${SUITE} (minbase)`);
    let seen = 0;
    await run('debootstrap', ['--variant=minbase', SUITE, tmp, MIRROR], {
      signal,
      onLine: (line) => {
        if (!line.startsWith('I: ')) return;
        seen += 1;
        // minbase prints roughly 300 info lines; asymptotic so the bar never runs backwards.
        report(450 * (1 - Math.exp(-seen / 120)), line.slice(3, 80));
      },
    });

    // 1b. The untouched minbase tree is the labs' `debian:bookworm` base image (lab-content.ts); kept outside
    // the tree until step 2 is done, so that it never contains itself.
    report(450, 'saving the Debian base root filesystem');
    const baseTarball = path.join(dir, `${hash}.debian.tar`);
    await run('tar', [
      '-C', tmp, '--numeric-owner', '--exclude=./proc/*', '--exclude=./sys/*', '--exclude=./dev/*',
      '--exclude=./usr/share/doc/*', '--exclude=./usr/share/man/*', '--exclude=./usr/share/locale/*',
      '--exclude=./var/cache/apt/*', '--exclude=./var/lib/apt/lists/*', '-cf', baseTarball, '.',
    ]);

    // 2. Packages (450..850), in the new root with services kept from starting.
    await fs.writeFile(path.join(tmp, 'etc/apt/sources.list'), `deb ${MIRROR} ${SUITE} main\n`);
    await fs.writeFile(path.join(tmp, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    await run('mount', ['-t', 'proc', 'proc', path.join(tmp, 'proc')]);
    const chrootEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
    try {
      report(460, 'apt-get update');
      await run('chroot', [tmp, 'apt-get', 'update', '-q'], { signal, env: chrootEnv });
      // The labs' apt mirror: what a minbase system (the state of this tree now) lacks to install these packages.
      await fs.mkdir(path.join(tmp, APT_MIRROR_DIR, 'partial'), { recursive: true });
      await run('chroot', [tmp, 'apt-get', 'install', '-y', '-q', '--download-only', '--no-install-recommends',
        '-o', `Dir::Cache::archives=${APT_MIRROR_DIR}`, ...APT_MIRROR_PACKAGES], { signal, env: chrootEnv });
      let total = 0;
      let steps = 0;
      await run('chroot', [tmp, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...PACKAGES], {
        signal,
        env: chrootEnv,
        onLine: (line) => {
          const m = /(\d+) newly installed/.exec(line);
          if (m) total = Number(m[1]);
          if (/^(Unpacking|Setting up) /.test(line)) {
            steps += 1;
            const frac = total > 0 ? steps / (2 * total) : 1 - Math.exp(-steps / 200);
            report(470 + 380 * Math.min(1, frac), line.slice(0, 80));
          } else if (line.startsWith('Get:')) {
            report(465, `downloading ${line.split(' ')[3] ?? ''}`);
          }
        },
      });
      // 3. Settings (850..900).
      report(855, 'configuring services, sshd, networkd');
      await run('chroot', [tmp, 'bash', '-c', CONFIGURE_SCRIPT], { signal, env: chrootEnv });
      for (const f of HOST_FILES) {
        const dest = path.join(tmp, f.dest);
        await fs.mkdir(path.dirname(dest), { recursive: true });
        await fs.copyFile(hostFileSource(f), dest);
        await fs.chmod(dest, f.mode);
      }
      await run('chroot', [tmp, 'bash', '-c', LABS_CONFIGURE_SCRIPT], { signal, env: chrootEnv });
    } finally {
      await unmountUnder(tmp);
    }
    await fs.rm(path.join(tmp, 'usr/sbin/policy-rc.d'), { force: true });
    await fs.mkdir(path.dirname(path.join(tmp, BASE_ROOTFS_TARBALL)), { recursive: true });
    await fs.rename(baseTarball, path.join(tmp, BASE_ROOTFS_TARBALL));

    // 4. Container images (900..980): a rootfs tarball per image; docker imports it on the host's first start.
    report(900, 'container images');
    for (const name of CONTAINER_IMAGES) await makeContainerTarball(tmp, name);

    // 5. Publish atomically: a half-built tree is never mistaken for an image.
    report(980, 'publishing');
    await fs.rm(final, { recursive: true, force: true });
    await fs.rename(tmp, final);
    const du = await run('du', ['-sb', final]).catch(() => undefined);
    const info: ImageInfo = { hash, rootfs: final, builtAt: Date.now(), sizeBytes: Number(du?.stdout.split('\t')[0] ?? 0) };
    await fs.writeFile(path.join(dir, `${hash}.json`), `${JSON.stringify(info, null, 2)}\n`);
    await removeOldImages(dir, hash);
    report(TOTAL, 'image ready');
    return info;
  } catch (e) {
    await unmountUnder(tmp);
    await fs.rm(tmp, { recursive: true, force: true });
    await fs.rm(path.join(dir, `${hash}.debian.tar`), { force: true });
    if (signal?.aborted) throw new ProvisionError('aborted', 'image build aborted');
    throw new ProvisionError('internal', `image build failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * busybox: the static binary plus one symlink per applet, as a tarball `docker import` understands. Other images
 * are that tree plus binaries from the host image and the shared libraries they need (CONTAINER_IMAGE_BINARIES).
 */
async function makeContainerTarball(rootfs: string, name: string): Promise<void> {
  const binaries = CONTAINER_IMAGE_BINARIES[name];
  if (name !== 'busybox' && !binaries) throw new Error(`no recipe for container image ${name}`);
  const staging = path.join(rootfs, 'tmp', `ctr-${name}`);
  await fs.rm(staging, { recursive: true, force: true });
  for (const d of ['bin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev']) await fs.mkdir(path.join(staging, d), { recursive: true });
  await fs.copyFile(path.join(rootfs, 'bin/busybox'), path.join(staging, 'bin/busybox'));
  await fs.chmod(path.join(staging, 'bin/busybox'), 0o755);
  const list = await run(path.join(rootfs, 'bin/busybox'), ['--list']);
  for (const applet of list.stdout.split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox')) {
    await fs.symlink('busybox', path.join(staging, 'bin', applet)).catch(() => undefined);
  }
  await fs.writeFile(path.join(staging, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await fs.writeFile(path.join(staging, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  if (binaries) await addBinaries(rootfs, staging, binaries);
  const outDir = path.join(rootfs, IMAGE_TARBALL_DIR);
  await fs.mkdir(outDir, { recursive: true });
  await run('tar', ['-C', staging, '--numeric-owner', '--owner=0', '--group=0', '-cf', path.join(outDir, `${name}.tar`), '.']);
  await fs.rm(staging, { recursive: true, force: true });
}

/** Copies binaries (host image path → container path) and, found by ldd in the new root, every library they load. */
async function addBinaries(rootfs: string, staging: string, binaries: Readonly<Record<string, string>>): Promise<void> {
  const libs = new Set<string>();
  for (const [src, dest] of Object.entries(binaries)) {
    await fs.mkdir(path.dirname(path.join(staging, dest)), { recursive: true });
    await fs.copyFile(path.join(rootfs, src), path.join(staging, dest));
    await fs.chmod(path.join(staging, dest), 0o755);
    const ldd = await run('chroot', [rootfs, 'ldd', src]);
    // "libssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
    for (const m of ldd.stdout.matchAll(/(?:=> )?(\/\S+) \(0x/g)) libs.add(m[1]!);
  }
  for (const lib of libs) {
    const dest = path.join(staging, lib);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    // Resolved inside the new root (its symlinks may be absolute): the container gets the real file under the soname.
    const real = (await run('chroot', [rootfs, 'readlink', '-f', lib])).stdout.trim();
    await fs.copyFile(path.join(rootfs, real), dest);
  }
  for (const d of ['data', 'usr/lib']) await fs.mkdir(path.join(staging, d), { recursive: true });
}

/**
 * Old images are removed, except the one built just before (a process may have picked it a moment ago
 * and not mounted it yet) and any still used as an overlay's lower layer. Their side files go with them.
 */
async function removeOldImages(dir: string, keep: string): Promise<void> {
  const mounts = await fs.readFile('/proc/mounts', 'utf8');
  const entries = await fs.readdir(dir);
  const builtAt = async (hash: string): Promise<number> => {
    const info = await fs.readFile(path.join(dir, `${hash}.json`), 'utf8').catch(() => '{}');
    return (JSON.parse(info) as Partial<ImageInfo>).builtAt ?? 0;
  };
  const hashes = [...new Set(entries.filter((e) => /^[0-9a-f]{16}$/.test(e)))].filter((h) => h !== keep);
  const byAge = (await Promise.all(hashes.map(async (h) => ({ h, t: await builtAt(h) })))).sort((a, b) => b.t - a.t);
  for (const { h } of byAge.slice(1)) {
    if (mounts.includes(`lowerdir=${path.join(dir, h)}`)) continue;
    for (const e of entries) if (e === h || e.startsWith(`${h}.`)) await fs.rm(path.join(dir, e), { recursive: true, force: true });
  }
}
