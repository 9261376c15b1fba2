// Per-host user-id ranges for unprivileged hosts: host root is uid BASE on the server, and no two live hosts
// share a range. Reservations are machine-wide files under /run/labwright/idranges/<k> holding the env id.
//
// Ranges are 65536 ids at BASE = 0x70000000 + 65536·k, k = 0…4093: above systemd's container range
// (0x00080000–0x6FFFFFFF, where `nspawn --private-users=pick` and machined allocate) and below its
// "foreign" range (0x7FFE0000), in a block systemd documents as unused; far above the ranges useradd hands
// out in /etc/subuid and /etc/subgid (100000 up to 600100000), which are also checked and skipped.
import fs from 'node:fs/promises';
import path from 'node:path';
import { ProvisionError } from '../provider.ts';
import { ID_COUNT } from './idmap.ts';
import { ENV_ID_RE } from './names.ts';
import { RUN_DIR, envExists } from './registry.ts';

export const ID_RANGE_FIRST = 0x7000_0000;
export const ID_RANGE_SLOTS = (0x7ffe_0000 - ID_RANGE_FIRST) / ID_COUNT;
export const idRangesDir = path.join(RUN_DIR, 'idranges');

export const baseOfSlot = (k: number): number => ID_RANGE_FIRST + k * ID_COUNT;
/** The last slot is never handed to a host: the start-up probe maps it for a moment (it writes nothing). */
export const PROBE_BASE = baseOfSlot(ID_RANGE_SLOTS - 1);

/** [start, end) ranges taken in /etc/subuid and /etc/subgid (user namespaces of other tools on this machine). */
async function subordinateRanges(): Promise<[number, number][]> {
  const out: [number, number][] = [];
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    for (const line of (await fs.readFile(f, 'utf8').catch(() => '')).split('\n')) {
      const [, start, count] = line.trim().split(':');
      const s = Number(start);
      const c = Number(count);
      if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && c > 0) out.push([s, s + c]);
    }
  }
  return out;
}

/** Reserves a free range for one host of environment `envId` and returns its BASE. */
export async function reserveIdRange(envId: string): Promise<number> {
  await fs.mkdir(idRangesDir, { recursive: true, mode: 0o700 });
  const taken = await subordinateRanges();
  const used = new Set(await fs.readdir(idRangesDir));
  for (let k = 0; k < ID_RANGE_SLOTS - 1; k++) {
    if (used.has(String(k))) continue;
    const base = baseOfSlot(k);
    if (taken.some(([s, e]) => base < e && s < base + ID_COUNT)) continue;
    try {
      await fs.writeFile(path.join(idRangesDir, String(k)), `${envId}\n`, { flag: 'wx' });
      return base;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new ProvisionError('internal', `all ${ID_RANGE_SLOTS} user-id ranges for unprivileged hosts are in use`);
}

/** Releases every range environment `envId` holds. Only call once its hosts' processes are gone. */
export async function releaseIdRanges(envId: string): Promise<void> {
  for (const f of await fs.readdir(idRangesDir).catch(() => [] as string[])) {
    const owner = (await fs.readFile(path.join(idRangesDir, f), 'utf8').catch(() => '')).trim();
    if (owner === envId) await fs.rm(path.join(idRangesDir, f), { force: true });
  }
}

/** Ids of environments holding a range (for reaping ranges whose environment is gone). */
export async function idRangeOwners(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const f of await fs.readdir(idRangesDir).catch(() => [] as string[])) {
    out.add((await fs.readFile(path.join(idRangesDir, f), 'utf8').catch(() => '')).trim());
  }
  return out;
}

/** Drops reservations whose environment no longer exists in any data directory (a crash between reserve and state write). */
export async function reapIdRanges(): Promise<void> {
  for (const owner of await idRangeOwners()) {
    if (!ENV_ID_RE.test(owner) || !(await envExists(owner))) await releaseIdRanges(owner);
  }
}

/**
 * Moves the ownership of everything under `dir` (not following links) from one id range to another: ids
 * from..from+65535 become to..to+65535, others stay. A chown clears set-id bits, so they are put back.
 */
export async function shiftOwnership(dir: string, from: number, to: number): Promise<void> {
  const shift = (id: number): number => (id >= from && id < from + ID_COUNT ? id - from + to : id);
  const visit = async (p: string): Promise<void> => {
    const st = await fs.lstat(p);
    const [uid, gid] = [shift(st.uid), shift(st.gid)];
    if (uid !== st.uid || gid !== st.gid) {
      await fs.lchown(p, uid, gid);
      if (!st.isSymbolicLink() && st.mode & 0o6000) await fs.chmod(p, st.mode & 0o7777);
    }
    if (st.isDirectory()) for (const e of await fs.readdir(p)) await visit(path.join(p, e));
  };
  await visit(dir);
}
