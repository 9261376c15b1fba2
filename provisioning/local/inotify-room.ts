// Every local host's systemd, journald, networkd… take inotify instances, and the kernel charges them
// to the user that owns the host's user namespace — root, in both isolation modes. Debian's default of
// 128 instances per user fits about 21 hosts: a class joining at once failed past that. So before the
// first host boots, the per-user limits are raised to what a full room needs, and the log says so.
import fs from 'node:fs/promises';

const SYSCTL = '/proc/sys/fs/inotify';
/** Enough for several hundred hosts (each takes about 6 instances and a few hundred watches). */
export const WANTED = { max_user_instances: 8192, max_user_watches: 1_048_576 } as const;

export interface InotifyRaise {
  name: string;
  from: number;
  to: number;
}

/**
 * Raises fs.inotify.max_user_{instances,watches} to WANTED where they are lower; never lowers them.
 * Returns what it raised; throws only if a value cannot be read or written (the caller decides).
 */
export async function ensureInotifyRoom(dir = SYSCTL): Promise<InotifyRaise[]> {
  const raised: InotifyRaise[] = [];
  for (const [name, want] of Object.entries(WANTED)) {
    const file = `${dir}/${name}`;
    const now = Number((await fs.readFile(file, 'utf8')).trim());
    if (Number.isInteger(now) && now >= want) continue;
    await fs.writeFile(file, `${want}\n`);
    raised.push({ name: `fs.inotify.${name}`, from: now, to: want });
  }
  return raised;
}
