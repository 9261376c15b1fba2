// Planting the Docker seed into a host's Docker directory, against the real kernel (root only): an unprivileged
// host's copy is owned by its id range (read through an idmapped view), set-id bits, links and hard links survive,
// the seed itself is untouched, and nothing stays mounted, also when the copy fails.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountsUnder } from '../testing/host-test-support.ts';
import { SEED_PLANTED_FILE, plantDockerSeed } from './docker-seed.ts';
import { ID_RANGE_FIRST } from './id-ranges.ts';
import { ensureIdmapHelper } from './idmap.ts';
import { unmountUnder } from './machine.ts';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('plantDockerSeed (real mounts)', () => {
  let tmp: string;
  let helper: string;
  let seed: string;

  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lw-seed-test-'));
    helper = await ensureIdmapHelper(path.join(tmp, 'cache'));
    seed = path.join(tmp, 'seed');
    await fs.mkdir(path.join(seed, 'image/overlay2'), { recursive: true });
    await fs.mkdir(path.join(seed, 'network/files'), { recursive: true });
    await fs.writeFile(path.join(seed, 'image/overlay2/repositories.json'), '{"Repositories":{"busybox":{}}}');
    await fs.writeFile(path.join(seed, 'by-999'), 'x');
    await fs.chown(path.join(seed, 'by-999'), 999, 998);
    await fs.writeFile(path.join(seed, 'suid'), '');
    await fs.chmod(path.join(seed, 'suid'), 0o4755);
    await fs.link(path.join(seed, 'suid'), path.join(seed, 'suid-hardlink'));
    await fs.symlink('/etc/passwd', path.join(seed, 'link'));
    await fs.writeFile(path.join(seed, 'network/files/local-kv.db'), 'seed host network');
    await fs.writeFile(path.join(seed, '.complete'), '');
  });

  afterAll(async () => {
    await unmountUnder(tmp);
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it("gives an unprivileged host's copy to its id range and leaves no view mounted", async () => {
    const base = ID_RANGE_FIRST;
    const dest = path.join(tmp, 'host-a', 'docker');
    await fs.mkdir(dest, { recursive: true });
    await plantDockerSeed(seed, dest, { base, helper });
    expect(await fs.stat(path.join(dest, 'image/overlay2/repositories.json'))).toMatchObject({ uid: base, gid: base });
    expect(await fs.readFile(path.join(dest, 'image/overlay2/repositories.json'), 'utf8')).toContain('busybox');
    expect(await fs.stat(path.join(dest, 'image'))).toMatchObject({ uid: base, gid: base });
    expect(await fs.stat(path.join(dest, 'by-999'))).toMatchObject({ uid: base + 999, gid: base + 998 });
    const suid = await fs.stat(path.join(dest, 'suid'));
    expect(suid.mode & 0o7777).toBe(0o4755);
    expect((await fs.stat(path.join(dest, 'suid-hardlink'))).ino).toBe(suid.ino);
    const link = await fs.lstat(path.join(dest, 'link'));
    expect(link.isSymbolicLink() && link.uid === base).toBe(true);
    // Complete: docker.service in the host waits for this file, owned by host root.
    expect(await fs.stat(path.join(dest, SEED_PLANTED_FILE))).toMatchObject({ uid: base, gid: base });
    // The seed host's network store and the seed's marker are not planted.
    await expect(fs.access(path.join(dest, 'network/files/local-kv.db'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.access(path.join(dest, '.complete'))).rejects.toMatchObject({ code: 'ENOENT' });
    // The seed keeps ids 0…, for the next host; the view is gone.
    expect(await fs.stat(path.join(seed, 'image'))).toMatchObject({ uid: 0, gid: 0 });
    expect(await fs.readdir(path.dirname(dest))).toEqual(['docker']);
    expect(await mountsUnder(tmp)).toEqual([]);
  });

  it("keeps a privileged host's copy in ids 0…", async () => {
    const dest = path.join(tmp, 'host-b', 'docker');
    await fs.mkdir(dest, { recursive: true });
    await plantDockerSeed(seed, dest);
    expect(await fs.stat(path.join(dest, 'by-999'))).toMatchObject({ uid: 999, gid: 998 });
    expect((await fs.stat(path.join(dest, 'suid'))).mode & 0o7777).toBe(0o4755);
    expect(await fs.stat(path.join(dest, SEED_PLANTED_FILE))).toMatchObject({ uid: 0, gid: 0 });
  });

  it('unmounts the view when the copy fails', async () => {
    const dest = path.join(tmp, 'host-c', 'docker');
    await fs.mkdir(path.dirname(dest), { recursive: true });
    // A file where the directory should be: cp fails.
    await fs.writeFile(dest, '');
    await expect(plantDockerSeed(seed, dest, { base: ID_RANGE_FIRST, helper })).rejects.toThrow(/^cp -a .* failed/);
    expect(await mountsUnder(tmp)).toEqual([]);
    expect(await fs.readdir(path.dirname(dest))).toEqual(['docker']);
    expect(await fs.readFile(dest, 'utf8')).toBe('');
  });
});
