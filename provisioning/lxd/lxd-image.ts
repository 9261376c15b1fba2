// The lab image in LXD: the same cached root filesystem the nspawn hosts boot (provisioning/image), streamed
// as a unified tarball (metadata.yaml + rootfs/) and aliased by the recipe hash, so it is imported once per recipe.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withDirLock } from '../image/dir-lock.ts';
import { dockerSeedDir, haveDockerSeed } from '../local/docker-seed.ts';
import type { ImageInfo } from '../image/build-image.ts';
import type { LxdClient } from './lxd-client.ts';

const ALIAS_PREFIX = 'labwright-';

/** The alias of an image: the recipe hash, plus "-d" when Docker's store (images already imported) is baked in. */
export function imageAlias(hash: string, withDockerSeed: boolean): string {
  return `${ALIAS_PREFIX}${hash}${withDockerSeed ? '-d' : ''}`;
}

export function metadataYaml(hash: string, now = Date.now()): string {
  return [
    'architecture: x86_64',
    `creation_date: ${Math.floor(now / 1000)}`,
    'properties:',
    `  description: labwright lab host ${hash}`,
    '  os: debian',
    '  release: bookworm',
    '',
  ].join('\n');
}

/**
 * The `tar` arguments of the unified tarball: metadata.yaml at the top, the image under rootfs/, and Docker's
 * seeded store (when there is one) under rootfs/var/lib/docker. Symlink targets are left alone (flag S).
 */
export function tarArgs(metaDir: string, rootfs: string, seed?: string): string[] {
  const args = ['-c', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls', '--exclude=./.complete'];
  args.push('--transform', 's,^\\./,rootfs/,rSh', '--transform', 's,^\\.$,rootfs,rSh');
  args.push('-C', metaDir, 'metadata.yaml', '-C', rootfs, '.');
  if (seed) {
    const base = path.basename(seed);
    args.push(`--transform=s,^${base.replace(/[.]/g, '\\.')},rootfs/var/lib/docker,rSh`, '-C', path.dirname(seed), base);
  }
  return args;
}

/** The fingerprint of the LXD image for this host image, importing it first when LXD does not have it yet. */
export async function ensureLxdImage(client: LxdClient, image: ImageInfo, lockDir: string): Promise<string> {
  const withSeed = await haveDockerSeed(image.rootfs);
  const alias = imageAlias(image.hash, withSeed);
  const have = await aliasTarget(client, alias);
  if (have) return have;
  await fs.mkdir(lockDir, { recursive: true });
  return withDirLock(path.join(lockDir, 'image-import.lock'), async () => {
    const again = await aliasTarget(client, alias);
    if (again) return again;
    const fingerprint = await importTarball(client, image, withSeed ? dockerSeedDir(image.rootfs) : undefined);
    await client.call('POST', '/1.0/images/aliases', { body: { name: alias, target: fingerprint, description: 'labwright lab host image' } });
    await dropOldImages(client, fingerprint);
    return fingerprint;
  });
}

async function aliasTarget(client: LxdClient, alias: string): Promise<string | undefined> {
  if (!(await client.exists(`/1.0/images/aliases/${alias}`))) return undefined;
  return (await client.get<{ target: string }>(`/1.0/images/aliases/${alias}`)).target;
}

async function importTarball(client: LxdClient, image: ImageInfo, seed: string | undefined): Promise<string> {
  const metaDir = await fs.mkdtemp(path.join(os.tmpdir(), 'labwright-lxd-meta-'));
  try {
    await fs.writeFile(path.join(metaDir, 'metadata.yaml'), metadataYaml(image.hash));
    const tar = spawn('tar', tarArgs(metaDir, image.rootfs, seed), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const tarDone = new Promise<void>((resolve, reject) => {
      tar.on('error', reject);
      tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar of the image failed (exit ${code}): ${stderr.trim().slice(-300)}`))));
    });
    const upload = client.call<{ fingerprint: string }>('POST', '/1.0/images', {
      stream: tar.stdout,
      headers: { 'Content-Type': 'application/octet-stream', 'X-LXD-public': '0' },
      timeoutMs: 600_000,
    });
    const [op] = await Promise.all([upload, tarDone]);
    if (!op.fingerprint) throw new Error('LXD imported the image but did not say its fingerprint');
    return op.fingerprint;
  } finally {
    await fs.rm(metaDir, { recursive: true, force: true });
  }
}

/** Images of earlier recipes (ours: every alias starts with labwright-) go once the new one is in. */
async function dropOldImages(client: LxdClient, keep: string): Promise<void> {
  const images = await client.get<{ fingerprint: string; aliases: { name: string }[] }[]>('/1.0/images?recursion=1');
  for (const img of images) {
    if (img.fingerprint === keep) continue;
    if (!img.aliases.some((a) => a.name.startsWith(ALIAS_PREFIX))) continue;
    await client.call('DELETE', `/1.0/images/${img.fingerprint}`).catch(() => undefined);
  }
}
