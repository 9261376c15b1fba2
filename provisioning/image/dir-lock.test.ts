import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withDirLock } from './dir-lock.ts';

describe('directory lock (one image build at a time)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lw-lock-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('runs holders one after the other, never together', async () => {
    const lock = path.join(dir, 'build.lock');
    const events: string[] = [];
    const job = (name: string) => async (): Promise<void> => {
      events.push(`${name} start`);
      await sleep(30);
      events.push(`${name} end`);
    };
    await Promise.all([withDirLock(lock, job('a'), { pollMs: 5 }), withDirLock(lock, job('b'), { pollMs: 5 })]);
    expect(events).toEqual(expect.arrayContaining(['a start', 'a end', 'b start', 'b end']));
    expect(events[1]).toMatch(/end$/);
    await expect(fs.access(lock)).rejects.toThrow();
  });

  it('takes over a lock left by a process that died (e.g. SIGKILL mid-build)', async () => {
    const lock = path.join(dir, 'build.lock');
    await fs.mkdir(lock);
    await fs.writeFile(path.join(lock, 'pid'), '999999999');
    let waited = false;
    const value = await withDirLock(lock, () => Promise.resolve(42), { onWait: () => (waited = true) });
    expect(value).toBe(42);
    expect(waited).toBe(false);
  });

  it('waits for a live holder and gives up when aborted', async () => {
    const lock = path.join(dir, 'build.lock');
    await fs.mkdir(lock);
    await fs.writeFile(path.join(lock, 'pid'), String(process.pid));
    const ac = new AbortController();
    let waited = false;
    const p = withDirLock(lock, () => Promise.resolve(1), { signal: ac.signal, pollMs: 5, onWait: () => (waited = true) });
    await sleep(20);
    ac.abort();
    await expect(p).rejects.toThrow();
    expect(waited).toBe(true);
  });
});
