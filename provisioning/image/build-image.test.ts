import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cachedImage, ensureImage, imagesDir } from './build-image.ts';
import { recipeHash } from './recipe.ts';

describe('host image cache', () => {
  it('reuses the image built for the current recipe without building (no debootstrap, no progress)', async () => {
    const cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lw-cache-'));
    try {
      const rootfs = path.join(imagesDir(cacheDir), recipeHash());
      await fs.mkdir(path.join(rootfs, 'usr/sbin'), { recursive: true });
      await fs.writeFile(path.join(rootfs, 'usr/sbin/sshd'), '');
      await fs.writeFile(path.join(imagesDir(cacheDir), `${recipeHash()}.json`), JSON.stringify({ hash: recipeHash(), rootfs, builtAt: 1 }));
      const events: string[] = [];
      const info = await ensureImage({ cacheDir, onProgress: (p) => events.push(p.message) });
      expect(info.rootfs).toBe(rootfs);
      expect(events).toEqual([]);
      expect((await cachedImage(cacheDir))?.hash).toBe(recipeHash());
    } finally {
      await fs.rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('does not take a half-built tree (no sshd) or another recipe for the image', async () => {
    const cacheDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lw-cache-'));
    try {
      const rootfs = path.join(imagesDir(cacheDir), recipeHash());
      await fs.mkdir(rootfs, { recursive: true });
      await fs.writeFile(path.join(imagesDir(cacheDir), `${recipeHash()}.json`), JSON.stringify({ hash: recipeHash(), rootfs, builtAt: 1 }));
      expect(await cachedImage(cacheDir)).toBeUndefined();
      await fs.writeFile(path.join(imagesDir(cacheDir), '0000000000000000.json'), JSON.stringify({ hash: '0000000000000000', rootfs: '/', builtAt: 1 }));
      expect(await cachedImage(cacheDir)).toBeUndefined();
    } finally {
      await fs.rm(cacheDir, { recursive: true, force: true });
    }
  });
});
