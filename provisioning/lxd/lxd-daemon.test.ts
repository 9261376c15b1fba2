// A machine without LXD gets a clear error naming the package, at once, not a wait for a daemon that never comes.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureDaemon } from './lxd-daemon.ts';

const savedPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = savedPath;
});

describe('ensureDaemon', () => {
  it('refuses with "install the Debian package lxd" when lxd is not installed', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lxd-none-'));
    process.env.PATH = dir;
    const err = await ensureDaemon({ dir, poolGb: 5, startTimeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'missing-dependency' });
    expect((err as Error).message).toMatch(/lxd not found: install the Debian package lxd/);
    await fs.rm(dir, { recursive: true, force: true });
  });
});
