// What a killed run of the LXD cluster harness leaves behind (its members' processes and containers, network
// namespaces, links, loop devices, mounts, directory), found and removed when the next run starts. A run
// whose owning process still lives (another test process's cluster) is never touched.
import fs from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../exec.ts';
import { listLinks } from '../../local/network.ts';
import { claim, ownerAlive, ownerIn } from '../../testing/process-owner.ts';
import { detachPoolLoops } from '../lxd-daemon.ts';
import { allPids, cmdlineOf, killNamespaces, namespaceOf } from './namespace-processes.ts';

/** Every run makes its directory as mkdtemp(RUN_DIR_PREFIX). */
export const RUN_DIR_PREFIX = '/tmp/lwlxdc-';
/** In a run's directory: who owns the run (written before anything else of the run exists). */
const OWNER_FILE = 'owner.json';
/** A directory without an owner file younger than this may be a run being made right now. */
const UNCLAIMED_GRACE_MS = 60_000;

/** The names of a run's links and namespaces: `lwc<id>br`, `lwc<id>v<i>`, `lwc<id>m<i>` (ids: 6 hex digits). */
export const clusterNames = (id: string) => ({
  bridge: `lwc${id}br`,
  veth: (i: number) => `lwc${id}v${i}`,
  netns: (i: number) => `lwc${id}m${i}`,
});
const NAME = /^lwc([0-9a-f]{6})(?:br|v\d+|m\d+)$/;

/** Marks `root` as this process's run `id`: until this process dies, no sweep touches the run. */
export async function claimRun(root: string, id: string): Promise<void> {
  await claim(path.join(root, OWNER_FILE), { id });
}

/** Processes that die with their run's owner (setpriv --pdeathsig): a member's holder and its daemon. */
const isHolderOrDaemon = (cmd: string): boolean => cmd === 'sleep infinity' || cmd.startsWith('lxd --logfile ');

export interface StaleRuns {
  /** Run ids whose links and namespaces go. */
  ids: string[];
  /** Run directories that go (some may be gone already but still back a loop device). */
  dirs: string[];
  /** Why each is stale, for the log. */
  reasons: string[];
}

/**
 * The runs to sweep. A run is live while the process in its owner file lives. Runs without one (made by
 * the harness before it wrote owner files, or whose directory is gone): a directory is live while younger
 * than a minute or while a daemon logs into it; links and namespaces of an id no owner file claims are live
 * while a holder or daemon (which die with their owner) is in its namespaces.
 */
export async function findStaleRuns(): Promise<StaleRuns> {
  const stale: StaleRuns = { ids: [], dirs: [], reasons: [] };
  const claimed = new Set<string>();
  const dirs = (await fs.readdir(path.dirname(RUN_DIR_PREFIX)).catch(() => []))
    .filter((n) => n.startsWith(path.basename(RUN_DIR_PREFIX)))
    .map((n) => path.join(path.dirname(RUN_DIR_PREFIX), n));
  // Loop devices of runs whose directory is gone (deleted backing files) name their directory too.
  const loops = (await run('losetup', ['--list', '--noheadings', '--raw', '-O', 'BACK-FILE'], { okCodes: [0, 1] })).stdout.split('\n');
  for (const file of loops.map((l) => l.trim()).filter((l) => l.startsWith(RUN_DIR_PREFIX))) {
    const dir = file.slice(0, file.indexOf('/', RUN_DIR_PREFIX.length));
    if (dir.startsWith(RUN_DIR_PREFIX) && !dirs.includes(dir)) dirs.push(dir);
  }
  const cmdlines = new Map<number, string>();
  for (const pid of await allPids()) cmdlines.set(pid, await cmdlineOf(pid));
  for (const dir of dirs) {
    const owner = await ownerIn<{ id: string }>(path.join(dir, OWNER_FILE));
    if (owner) {
      claimed.add(owner.id);
      if (await ownerAlive(owner)) continue;
      stale.ids.push(owner.id);
      stale.dirs.push(dir);
      stale.reasons.push(`run ${owner.id} in ${dir}: its owner (pid ${owner.pid}) is gone`);
      continue;
    }
    const made = await fs.stat(dir).then((s) => s.mtimeMs, () => 0);
    if (Date.now() - made < UNCLAIMED_GRACE_MS) continue;
    if ([...cmdlines.values()].some((c) => c.startsWith(`lxd --logfile ${dir}/`))) continue;
    stale.dirs.push(dir);
    stale.reasons.push(`${dir}: no owner, no daemon`);
  }
  const names = [...(await listLinks()), ...(await netnsNames())];
  const unclaimed = new Set(names.map((n) => n.match(NAME)?.[1]).filter((id): id is string => id !== undefined && !claimed.has(id)));
  const holders = await Promise.all([...cmdlines].filter(([, c]) => isHolderOrDaemon(c)).map(async ([pid]) => namespaceOf(pid, 'net')));
  for (const id of unclaimed) {
    const namespaces = await Promise.all(names.filter((n) => n.startsWith(`lwc${id}m`)).map(netnsId));
    if (holders.some((ns) => ns && namespaces.includes(ns))) continue;
    stale.ids.push(id);
    stale.reasons.push(`run ${id}: no owner, no holder or daemon in its namespaces`);
  }
  return stale;
}

async function netnsNames(): Promise<string[]> {
  const out = (await run('ip', ['netns', 'list'], { okCodes: [0, 1] })).stdout;
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => NAME.test(n));
}

/** `net:[inode]` of a named network namespace, as /proc/<pid>/ns/net shows it. */
async function netnsId(name: string): Promise<string> {
  return fs.stat(path.join('/run/netns', name)).then((s) => `net:[${s.ino}]`, () => '');
}

/**
 * Removes what stale runs left: every process in their members' network and mount namespaces (daemons,
 * containers, proxies, dnsmasq), the namespaces, the links, mounts and loop devices under their directories,
 * the directories. Logs and returns each thing it removed.
 */
export async function sweepStaleLxdClusters(log: (line: string) => void = () => undefined): Promise<string[]> {
  const stale = await findStaleRuns();
  if (stale.ids.length === 0 && stale.dirs.length === 0) return [];
  for (const r of stale.reasons) log(`sweeping a stale LXD cluster run: ${r}`);
  const swept: string[] = [];
  const netns = (await netnsNames()).filter((n) => stale.ids.includes(n.match(NAME)?.[1] ?? ''));
  // The members' namespaces: the named network ones, and every namespace of a process still in one of them
  // or naming a stale directory (a container's monitor keeps its member's mount namespace, with the pool mounted).
  const namespaces = new Set((await Promise.all(netns.map(netnsId))).filter(Boolean));
  for (const pid of await allPids()) {
    const cmd = await cmdlineOf(pid);
    const [net, mnt] = [await namespaceOf(pid, 'net'), await namespaceOf(pid, 'mnt')];
    if (namespaces.has(net) || stale.dirs.some((d) => cmd.includes(`${d}/`))) for (const ns of [net, mnt]) if (ns) namespaces.add(ns);
  }
  for (const p of await killNamespaces([...namespaces])) swept.push(`process ${p}`);
  for (const n of netns) {
    await run('ip', ['netns', 'del', n], { okCodes: [0, 1] });
    swept.push(`network namespace ${n}`);
  }
  const links = (await listLinks()).filter((l) => stale.ids.includes(l.match(NAME)?.[1] ?? ''));
  // Veths first (each takes its peer), the bridge last.
  for (const l of links.sort((a, b) => Number(a.endsWith('br')) - Number(b.endsWith('br')))) {
    await run('ip', ['link', 'del', l], { okCodes: [0, 1] });
    swept.push(`link ${l}`);
  }
  for (const dir of stale.dirs) {
    const mounts = (await run('findmnt', ['-rn', '-o', 'TARGET'], { okCodes: [0, 1] })).stdout.split('\n').filter((t) => t.startsWith(`${dir}/`));
    for (const t of mounts.reverse()) {
      await run('umount', ['-l', t], { okCodes: [0, 1, 32] });
      swept.push(`mount ${t}`);
    }
    const loops = (await run('losetup', ['--list', '--noheadings', '--raw', '-O', 'NAME,BACK-FILE'], { okCodes: [0, 1] })).stdout.split('\n').filter((l) => l.includes(` ${dir}/`));
    await detachPoolLoops(dir);
    for (const l of loops) swept.push(`loop device ${l.trim()}`);
    if (await fs.stat(dir).then(() => true, () => false)) {
      await fs.rm(dir, { recursive: true, force: true });
      swept.push(`directory ${dir}`);
    }
  }
  for (const s of swept) log(`swept ${s}`);
  return swept;
}
