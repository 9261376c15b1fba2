// Id ranges for isolated containers, chosen by us (security.idmap.base): LXD 5.0's own choice ignored the
// base of root's /etc/subuid range here (it picked 65536, which newuidmap then refused). Each container gets
// 65536 ids inside root's subordinate ranges, none shared with another of our instances.
import fs from 'node:fs/promises';

export const IDS = 65536;

/** Root's subordinate id ranges ([start, count]) from an /etc/subuid-style file. */
export function parseSubIds(text: string, user = 'root'): [number, number][] {
  const out: [number, number][] = [];
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if (name !== user || start === undefined || count === undefined) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && c >= IDS) out.push([s, c]);
  }
  return out;
}

/** Every base of a whole 65536-id slot that both the uid and the gid ranges allow. */
export function slotBases(uids: [number, number][], gids: [number, number][]): number[] {
  const inside = (ranges: [number, number][], base: number): boolean => ranges.some(([s, c]) => base >= s && base + IDS <= s + c);
  const out: number[] = [];
  // Ranges may overlap (Debian's and ours): a slot overlapping one already taken is skipped.
  let next = -Infinity;
  for (const [s, c] of [...uids].sort((a, b) => a[0] - b[0])) {
    for (let b = Math.max(s, next); b + IDS <= s + c; b += IDS) {
      if (!inside(gids, b)) continue;
      out.push(b);
      next = b + IDS;
    }
  }
  return out;
}

/** `n` free bases (not in `used`), or a message saying why there are not enough. */
export function pickBases(all: number[], used: Set<number>, n: number): number[] | string {
  const free = all.filter((b) => !used.has(b));
  if (free.length >= n) return free.slice(0, n);
  return all.length === 0
    ? 'root has no subordinate id range of 65536 ids or more in /etc/subuid and /etc/subgid (add "root:200000000:1000000000" to both; scripts/setup.sh does)'
    : `all ${all.length} id ranges of root's /etc/subuid are in use (${n} more needed): add a larger range, e.g. "root:200000000:1000000000", to /etc/subuid and /etc/subgid`;
}

export async function rootSlotBases(): Promise<number[]> {
  const [u, g] = await Promise.all(['/etc/subuid', '/etc/subgid'].map((f) => fs.readFile(f, 'utf8').catch(() => '')));
  return slotBases(parseSubIds(u ?? ''), parseSubIds(g ?? ''));
}
