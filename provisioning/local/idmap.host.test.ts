// The lw-idmap helper and the start-up probe against the real kernel (root only): the helper builds once per
// source, its bind shows ids shifted into the range and read-only, and nothing stays mounted or running.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandError, run } from '../exec.ts';
import { ID_RANGE_FIRST, PROBE_BASE, baseOfSlot, releaseIdRanges, reserveIdRange, shiftOwnership } from './id-ranges.ts';
import { mountsUnder } from '../testing/host-test-support.ts';
import { ID_COUNT, ensureIdmapHelper, mountIdmapped, probeUserns } from './idmap.ts';
import { unmountUnder } from './machine.ts';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('lw-idmap helper (real syscalls)', () => {
  let tmp: string;
  let helper: string;

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lw-idmap-test-'));
    helper = await ensureIdmapHelper(path.join(tmp, 'cache'));
  });

  afterAll(async () => {
    await unmountUnder(tmp);
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('is built once into the cache under a name carrying its source hash', async () => {
    expect(path.basename(helper)).toMatch(/^lw-idmap-[0-9a-f]{16}$/);
    const before = (await fs.stat(helper)).mtimeMs;
    expect(await ensureIdmapHelper(path.join(tmp, 'cache'))).toBe(helper);
    expect((await fs.stat(helper)).mtimeMs).toBe(before);
  });

  it('shows a directory with its ids moved into the range, read-only, and unmounts without a trace', async () => {
    const src = path.join(tmp, 'src');
    const dst = path.join(tmp, 'dst');
    await fs.mkdir(src);
    await fs.mkdir(dst);
    await fs.writeFile(path.join(src, 'by-root'), 'x');
    await fs.writeFile(path.join(src, 'by-1000'), 'x');
    await fs.chown(path.join(src, 'by-1000'), 1000, 1001);
    const base = ID_RANGE_FIRST;
    await mountIdmapped(helper, src, dst, base);
    try {
      expect(await fs.stat(path.join(dst, 'by-root'))).toMatchObject({ uid: base, gid: base });
      expect(await fs.stat(path.join(dst, 'by-1000'))).toMatchObject({ uid: base + 1000, gid: base + 1001 });
      await expect(fs.writeFile(path.join(dst, 'new'), 'x')).rejects.toMatchObject({ code: 'EROFS' });
      // The source itself is untouched.
      expect(await fs.stat(path.join(src, 'by-root'))).toMatchObject({ uid: 0, gid: 0 });
      // No helper process outlives the mount: the mount holds the namespace.
      const { stdout } = await run('pgrep', ['-f', `^${helper}`], { okCodes: [0, 1] });
      expect(stdout.trim()).toBe('');
    } finally {
      await run('umount', [dst]);
    }
    expect(await mountsUnder(tmp)).toEqual([]);
  });

  it('fails with a message naming the step when the source does not exist', async () => {
    const err = await mountIdmapped(helper, path.join(tmp, 'missing'), tmp, ID_RANGE_FIRST).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).stderr).toMatch(/lw-idmap: open_tree: No such file or directory/);
  });

  it('probe: this kernel can run unprivileged hosts on this filesystem, and the probe leaves nothing mounted', async () => {
    const img = path.join(tmp, 'image');
    await fs.mkdir(path.join(img, 'etc'), { recursive: true });
    expect(await probeUserns(path.join(tmp, 'cache'), img, PROBE_BASE)).toBeUndefined();
    expect((await fs.readFile('/proc/mounts', 'utf8')).includes('userns-probe-')).toBe(false);
  });

  it('probe: a filesystem without idmapped mounts is named in the answer', async () => {
    // /proc cannot be idmapped: the probe must say so instead of throwing.
    expect(await probeUserns(path.join(tmp, 'cache'), '/proc', PROBE_BASE)).toMatch(/idmapped mounts do not work on the image's filesystem \(\/proc\)/);
  });
});

describe.skipIf(!isRoot)('id ranges', () => {
  it('gives every host its own 65536 ids and frees them with the environment', async () => {
    const a = await reserveIdRange('lwzzt01');
    const b = await reserveIdRange('lwzzt01');
    const c = await reserveIdRange('lwzzt02');
    try {
      expect(new Set([a, b, c]).size).toBe(3);
      for (const x of [a, b, c]) {
        expect((x - ID_RANGE_FIRST) % ID_COUNT).toBe(0);
        expect(x).toBeGreaterThanOrEqual(baseOfSlot(0));
        expect(x).toBeLessThan(PROBE_BASE);
      }
      await releaseIdRanges('lwzzt01');
      // Freed slots are handed out again; c stays taken.
      const d = await reserveIdRange('lwzzt03');
      expect([a, b]).toContain(d);
      expect(d).not.toBe(c);
    } finally {
      for (const id of ['lwzzt01', 'lwzzt02', 'lwzzt03']) await releaseIdRanges(id);
    }
  });

  it('shifts ownership between ranges and keeps set-id bits', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lw-shift-test-'));
    try {
      await fs.mkdir(path.join(dir, 'd'));
      await fs.writeFile(path.join(dir, 'd', 'suid'), '');
      await fs.chown(path.join(dir, 'd', 'suid'), 0, 5);
      await fs.chmod(path.join(dir, 'd', 'suid'), 0o4755);
      await fs.symlink('/etc/passwd', path.join(dir, 'link'));
      await shiftOwnership(dir, 0, ID_RANGE_FIRST);
      const st = await fs.stat(path.join(dir, 'd', 'suid'));
      expect(st).toMatchObject({ uid: ID_RANGE_FIRST, gid: ID_RANGE_FIRST + 5 });
      expect(st.mode & 0o7777).toBe(0o4755);
      expect((await fs.lstat(path.join(dir, 'link'))).uid).toBe(ID_RANGE_FIRST);
      // The link's target is not followed.
      expect((await fs.stat('/etc/passwd')).uid).toBe(0);
      await shiftOwnership(dir, ID_RANGE_FIRST, 0);
      expect(await fs.stat(path.join(dir, 'd', 'suid'))).toMatchObject({ uid: 0, gid: 5 });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
