// What a test cluster member's mount namespace lets go of as it starts. The namespace begins as a copy of
// the machine's mounts, other environments' disks included (a local host's loop-mounted disk and its
// overlay, another LXD's btrfs pool, named network namespaces); a copy holds them busy — a loop device
// stays bound, a namespace stays alive — for as long as the member lives, although nothing in it uses them.

/** One line of /proc/<pid>/mountinfo, the fields this module reads. */
export interface MountEntry {
  id: number;
  parent: number;
  /** Where it is mounted (octal escapes such as \040 decoded). */
  target: string;
  fstype: string;
  source: string;
}

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** The entries of a mountinfo text, in its order (a mount after the ones it covers); malformed lines skipped. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [mine, theirs] = line.split(' - ');
    const f = mine?.split(' ') ?? [];
    const [fstype, source] = theirs?.split(' ') ?? [];
    if (f.length < 5 || fstype === undefined || source === undefined) continue;
    out.push({ id: Number(f[0]), parent: Number(f[1]), target: unescape(f[4]!), fstype, source: unescape(source) });
  }
  return out;
}

/**
 * Whether a mount holds what belongs to someone else: a filesystem on a loop device (a host's disk, a pool's
 * file), an overlay (a host's root, pinning its layers), a btrfs pool, a named network namespace. Not a
 * squashfs: those are the machine's own software (snaps), which the member may run from.
 */
const holdsOthers = (m: MountEntry): boolean =>
  (m.source.startsWith('/dev/loop') && m.fstype !== 'squashfs') || m.fstype === 'overlay' || m.fstype === 'btrfs' || m.fstype === 'nsfs';

/** `a` is `b` or a directory above it. */
const atOrAbove = (a: string, b: string): boolean => a === '/' || b === a || b.startsWith(`${a}/`);

/**
 * The mount points a member detaches (`umount -l`, each taking the mounts under it along): the mounts that
 * hold others' things, except the machine's own layout (`/` and its top-level directories) and any on the way
 * to a path the member needs (`keep`: its directory, the tools it runs); only the topmost of a subtree; and
 * none covered by a later mount on the same point, since unmounting that path would take the wrong one.
 */
export function mountsToDetach(mountinfo: string, keep: readonly string[]): string[] {
  const mounts = parseMountinfo(mountinfo);
  const byId = new Map(mounts.map((m) => [m.id, m]));
  const chosen = new Set(
    mounts
      .filter(holdsOthers)
      .filter((m) => m.target.split('/').filter(Boolean).length > 1 && !keep.some((k) => atOrAbove(m.target, k)))
      .filter((m) => !mounts.some((o) => o.parent === m.id && o.target === m.target))
      .map((m) => m.id),
  );
  const underChosen = (m: MountEntry): boolean => {
    for (let p = byId.get(m.parent), hops = 0; p && hops < mounts.length; p = byId.get(p.parent), hops++) if (chosen.has(p.id)) return true;
    return false;
  };
  return mounts.filter((m) => chosen.has(m.id) && !underChosen(m)).map((m) => m.target);
}
