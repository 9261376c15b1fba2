// A cross-process lock made of a directory (mkdir is atomic) holding the owner's pid, so a lock left
// by a crashed (e.g. SIGKILLed) process is recognised as stale and taken over instead of waited on forever.
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryAcquire(lockDir: string): Promise<boolean> {
  try {
    await fs.mkdir(lockDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const owner = Number(await fs.readFile(path.join(lockDir, 'pid'), 'utf8').catch(() => 'NaN'));
    if (Number.isNaN(owner)) {
      // The owner may be between mkdir and writing its pid: only a lock that stays pid-less is stale.
      const st = await fs.stat(lockDir).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs < 5_000) return false;
    } else if (pidAlive(owner)) {
      return false;
    }
    await fs.rm(lockDir, { recursive: true, force: true });
    return tryAcquire(lockDir);
  }
  await fs.writeFile(path.join(lockDir, 'pid'), String(process.pid));
  return true;
}

export async function withDirLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  opts: { signal?: AbortSignal; onWait?: () => void; pollMs?: number } = {},
): Promise<T> {
  let waited = false;
  while (!(await tryAcquire(lockDir))) {
    if (!waited) opts.onWait?.();
    waited = true;
    opts.signal?.throwIfAborted();
    await sleep(opts.pollMs ?? 250);
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}
