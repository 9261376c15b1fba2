import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WANTED, ensureInotifyRoom } from './inotify-room.ts';

describe('ensureInotifyRoom', () => {
  let dir: string;
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function sysctls(instances: number, watches: number): Promise<void> {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lw-inotify-'));
    await fs.writeFile(path.join(dir, 'max_user_instances'), `${instances}\n`);
    await fs.writeFile(path.join(dir, 'max_user_watches'), `${watches}\n`);
  }
  const read = async (name: string): Promise<number> => Number((await fs.readFile(path.join(dir, name), 'utf8')).trim());

  it("raises Debian's 128 instances (about 21 hosts) to what a room needs, and says what it raised", async () => {
    await sysctls(128, 65536);
    const raised = await ensureInotifyRoom(dir);
    expect(raised).toEqual([
      { name: 'fs.inotify.max_user_instances', from: 128, to: WANTED.max_user_instances },
      { name: 'fs.inotify.max_user_watches', from: 65536, to: WANTED.max_user_watches },
    ]);
    expect(await read('max_user_instances')).toBe(WANTED.max_user_instances);
  });

  it('never lowers a limit an operator set higher', async () => {
    await sysctls(100_000, 4_000_000);
    expect(await ensureInotifyRoom(dir)).toEqual([]);
    expect(await read('max_user_instances')).toBe(100_000);
    expect(await read('max_user_watches')).toBe(4_000_000);
  });
});
