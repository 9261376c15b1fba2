// A real LXD cluster of two members on this machine, as LXD's own test suite makes one: one `lxd`
// daemon per member with its own LXD_DIR, each in a network and mount namespace of its own (the net one
// joined to a bridge in the root namespace, 10.252.0.0/24, made here), each with a btrfs pool on a loop
// file. For tests only: everything it makes (daemons, containers, namespaces, links, loop files, mounts)
// goes in close(), and what a killed test run left goes when the next one starts (lxd-cluster-sweep.ts).
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { LxdClient } from '../lxd-client.ts';
import { detachPoolLoops, lxdDaemonEnv } from '../lxd-daemon.ts';
import { claimRun, clusterNames, RUN_DIR_PREFIX, sweepStaleLxdClusters } from './lxd-cluster-sweep.ts';
import { mountsToDetach } from './member-mounts.ts';
import { cmdlineOf, killNamespaces, pidsInNamespaces } from './namespace-processes.ts';

const pexec = promisify(execFile);

/** The private subnet of the members; the root namespace's bridge is .1, members .2, .3, … */
export const CLUSTER_SUBNET = '10.252.0';
/** Member i's address (members count from 1; the bridge in the root namespace is .1). */
const memberAddress = (i: number): string => `${CLUSTER_SUBNET}.${i + 1}`;
/** The storage pool every member has (the name the LXD provider puts root disks on). */
export const CLUSTER_POOL = 'labwright';

/** Where the tools a member runs are found. */
const TOOL_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', '/snap/bin'];
const onPath = (cmd: string): boolean => TOOL_DIRS.some((d) => existsSync(path.join(d, cmd)));

/** Why this machine cannot run the cluster (undefined: it can): root, LXD and the tools the members need. */
export function lxdClusterProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, LXD daemons)';
  const packages: [string, string][] = [['lxd', 'lxd'], ['lxc', 'lxd-client'], ['mkfs.btrfs', 'btrfs-progs'], ['dnsmasq', 'dnsmasq-base'], ['unshare', 'util-linux'], ['nsenter', 'util-linux'], ['setpriv', 'util-linux'], ['openssl', 'openssl']];
  const missing = packages.filter(([cmd]) => !onPath(cmd));
  if (missing.length > 0) return `${missing.map(([c]) => c).join(', ')} not found (Debian packages ${[...new Set(missing.map(([, p]) => p))].join(', ')}; scripts/setup.sh installs lxd, lxd-client, btrfs-progs, dnsmasq-base)`;
  if (!existsSync('/sys/fs/cgroup')) return 'no cgroup tree at /sys/fs/cgroup (LXD needs one)';
  return undefined;
}

export interface ClusterMember {
  /** LXD's name of the member (m1, m2, …). */
  name: string;
  /** The member's address on the private subnet (its cluster and API address, port 8443). */
  address: string;
  netns: string;
  dir: string;
  /** Holds the member's network and mount namespaces (an `unshare`d `sleep`), as LXD's test suite does. */
  holder: ChildProcess | null;
  /** The holder's network and mount namespaces (`net:[…]`, `mnt:[…]`): whatever is in them is the member's. */
  namespaces: string[];
  daemon: ChildProcess | null;
}

export interface LxdTestCluster {
  readonly members: ClusterMember[];
  /** The API of the first member (any member answers for the whole cluster). */
  readonly url: string;
  /** PEM client certificate and key the cluster trusts, and the cluster's own certificate. */
  readonly clientCert: string;
  readonly clientKey: string;
  readonly serverCert: string;
  /** How long forming the cluster took (ms): daemons up, bootstrap, join. */
  readonly formedMs: number;
  /** Kills a member as a machine dies: its daemon and everything in its namespace, and its containers. */
  killMember(name: string): Promise<void>;
  close(): Promise<void>;
  /** After close(): what is still there (processes, namespaces, links, loop devices, files), each named. */
  leftovers(): Promise<string[]>;
}

async function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv, input?: string): Promise<string> {
  if (input === undefined) return (await pexec(cmd, args, { env: env ?? process.env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 })).stdout;
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err.trim()}`))));
    p.stdin.end(input);
  });
}

const quiet = (p: Promise<unknown>): Promise<void> => p.then(() => undefined, () => undefined);

/** Kills every process of a member (daemon, holder, containers, proxies) as a machine dies. */
async function killAll(m: ClusterMember): Promise<void> {
  await killNamespaces(m.namespaces);
  m.daemon?.kill('SIGKILL');
  m.holder?.kill('SIGKILL');
  m.daemon = null;
  m.holder = null;
}

/**
 * A process holding new network and mount namespaces for a member, with a /sys of its own that keeps the
 * machine's cgroup tree (LXD's test suite, setup_clustering_netns). `ip netns exec` is not enough: its
 * fresh sysfs hides /sys/fs/cgroup, and LXC then fails every container with a limit ("Failed to setup
 * cgroup limits", lxd forkstart exit status 1). The copy of the machine's mounts the namespace starts with
 * lets go of other environments' disks and namespaces (member-mounts.ts), in the member only: its mounts are
 * private, so the machine keeps its own. Resolves with the holder's pid once both are done.
 */
async function holdNamespaces(m: ClusterMember): Promise<number> {
  const old = path.join(m.dir, '.sys');
  const script = [
    'set -e',
    `mkdir "${old}"`,
    `mount --move /sys "${old}"`,
    'mount -t sysfs sysfs /sys',
    `mount --move "${old}/fs/cgroup" /sys/fs/cgroup`,
    `umount -l "${old}"`,
    `rmdir "${old}"`,
    'echo held',
    // Dies with the test process even if close() never runs (so does the daemon).
    'exec setpriv --pdeathsig KILL sleep infinity',
  ].join('\n');
  const holder = spawn('unshare', ['--mount', '--net', '--propagation', 'private', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  m.holder = holder;
  let err = '';
  holder.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    holder.on('error', reject);
    holder.on('exit', (code) => reject(new Error(`could not make the namespaces of ${m.name} (exit ${code}): ${err.trim()}`)));
  });
  if (holder.pid === undefined) throw new Error(`no holder process for ${m.name}`);
  m.namespaces = await Promise.all(['net', 'mnt'].map((ns) => fs.readlink(`/proc/${holder.pid}/ns/${ns}`)));
  const others = mountsToDetach(await fs.readFile(`/proc/${holder.pid}/mountinfo`, 'utf8'), [m.dir, ...TOOL_DIRS]);
  if (others.length > 0) await sh('nsenter', ['-t', String(holder.pid), '-m', 'umount', '-l', '--', ...others]);
  return holder.pid;
}

/**
 * Starts a cluster, after sweeping what killed earlier runs left (logged); fails when another live run (a
 * test process still running) has the subnet.
 */
export async function startLxdCluster(opts: { members?: number; poolGb?: number; log?: (line: string) => void } = {}): Promise<LxdTestCluster> {
  const problem = lxdClusterProblem();
  if (problem) throw new Error(`cannot start an LXD cluster: ${problem}`);
  const count = opts.members ?? 2;
  const poolGb = opts.poolGb ?? 4;
  const log = opts.log ?? (() => undefined);
  await sweepStaleLxdClusters(log);
  const routes = await sh('ip', ['-4', 'route', 'show', `${CLUSTER_SUBNET}.0/24`]);
  if (routes.trim()) throw new Error(`${CLUSTER_SUBNET}.0/24 is in use on this machine (${routes.trim()}) by a cluster test still running`);
  const id = randomBytes(3).toString('hex');
  const names = clusterNames(id);
  const bridge = names.bridge;
  const root = await fs.mkdtemp(RUN_DIR_PREFIX);
  // Before anything else of the run exists: a later run's sweep leaves it alone while this process lives.
  await claimRun(root, id);
  // Unprivileged containers' root (a mapped id) must traverse down to their rootfs, as in /var/lib/lxd.
  await fs.chmod(root, 0o711);
  const members: ClusterMember[] = [];
  const t0 = performance.now();
  const cluster = {
    members,
    url: `https://${memberAddress(1)}:8443`,
    clientCert: '',
    clientKey: '',
    serverCert: '',
    formedMs: 0,
    killMember: async (name: string) => {
      const m = members.find((x) => x.name === name);
      if (m) await killAll(m);
    },
    close: async () => {
      for (const [i, m] of members.entries()) {
        await killAll(m);
        // The pair goes with its outer end, even while the kernel still holds the namespace a while.
        await quiet(sh('ip', ['link', 'del', names.veth(i + 1)]));
        await quiet(sh('ip', ['netns', 'del', m.netns]));
      }
      await quiet(sh('ip', ['link', 'del', bridge]));
      // The daemons' mounts (btrfs pools on their loop files, shmounts) lived in their members' mount
      // namespaces and went with their last process; a loop device left bound goes here.
      await detachPoolLoops(root);
      await fs.rm(root, { recursive: true, force: true });
    },
    leftovers: async () => {
      const out: string[] = [];
      for (const m of members) for (const pid of await pidsInNamespaces(m.namespaces)) out.push(`process ${pid} of ${m.name}: ${await cmdlineOf(pid)}`);
      const netns = await sh('ip', ['netns', 'list']).catch(() => '');
      for (const m of members) if (netns.split('\n').some((l) => l.split(' ')[0] === m.netns)) out.push(`network namespace ${m.netns}`);
      const links = await sh('ip', ['-br', 'link']).catch(() => '');
      for (const l of links.split('\n')) if (l.startsWith(`lwc${id}`)) out.push(`link ${l.split(/\s+/)[0]}`);
      const loops = await sh('losetup', ['-a']).catch(() => '');
      for (const l of loops.split('\n')) if (l.includes(root)) out.push(`loop device ${l}`);
      if (existsSync(root)) out.push(`directory ${root}`);
      return out;
    },
  };
  try {
    await sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
    await sh('ip', ['addr', 'add', `${CLUSTER_SUBNET}.1/24`, 'dev', bridge]);
    await sh('ip', ['link', 'set', bridge, 'up']);
    // The members reach each other directly; anything else the daemons ask for goes nowhere (lxdDaemonEnv).
    const memberAddresses = Array.from({ length: count }, (_, k) => memberAddress(k + 1)).join(',');
    for (let i = 1; i <= count; i++) {
      const m: ClusterMember = { name: `m${i}`, address: memberAddress(i), netns: names.netns(i), dir: path.join(root, `m${i}`), holder: null, namespaces: [], daemon: null };
      members.push(m);
      await fs.mkdir(m.dir, { mode: 0o711 });
      const holderPid = await holdNamespaces(m);
      await sh('ip', ['netns', 'attach', m.netns, String(holderPid)]);
      const outer = names.veth(i);
      await sh('ip', ['link', 'add', outer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', m.netns]);
      await sh('ip', ['link', 'set', outer, 'master', bridge, 'up']);
      const inNs = (...args: string[]): Promise<string> => sh('ip', ['netns', 'exec', m.netns, ...args]);
      await inNs('ip', 'link', 'set', 'lo', 'up');
      await inNs('ip', 'addr', 'add', `${m.address}/24`, 'dev', 'eth0');
      await inNs('ip', 'link', 'set', 'eth0', 'up');
      await inNs('ip', 'route', 'add', 'default', 'via', `${CLUSTER_SUBNET}.1`);
      // The daemon joins the holder's namespaces: its /sys shows this namespace's interfaces (LXD reads
      // /sys/class/net) and still has the machine's cgroups; its mounts (pool, shmounts) stay in there.
      const out = openSync(path.join(m.dir, 'daemon.out'), 'a');
      m.daemon = spawn('nsenter', ['-t', String(holderPid), '-m', '-n', 'setpriv', '--pdeathsig', 'KILL', 'lxd', '--logfile', path.join(m.dir, 'lxd.log')], { env: lxdDaemonEnv(m.dir, memberAddresses), stdio: ['ignore', out, out] });
      closeSync(out);
    }
    const lxdEnv = (m: ClusterMember): NodeJS.ProcessEnv => ({ ...process.env, LXD_DIR: m.dir });
    await Promise.all(members.map((m) => sh('lxd', ['waitready', '--timeout', '120'], lxdEnv(m))));
    log(`daemons up after ${Math.round(performance.now() - t0)} ms`);
    const [first, ...rest] = members;
    if (!first) throw new Error('a cluster needs a member');
    await sh(
      'lxd',
      ['init', '--preseed'],
      lxdEnv(first),
      [
        'config:',
        `  core.https_address: ${first.address}:8443`,
        'storage_pools:',
        `- name: ${CLUSTER_POOL}`,
        '  driver: btrfs',
        `  config: { size: ${poolGb}GiB }`,
        'cluster:',
        `  server_name: ${first.name}`,
        '  enabled: true',
        '',
      ].join('\n'),
    );
    log(`bootstrapped ${first.name} after ${Math.round(performance.now() - t0)} ms`);
    for (const m of rest) {
      const added = await sh('lxc', ['cluster', 'add', m.name, '--quiet'], lxdEnv(first)).catch(() => sh('lxc', ['cluster', 'add', m.name], lxdEnv(first)));
      const token = added.trim().split('\n').filter(Boolean).at(-1)?.trim();
      if (!token) throw new Error(`no join token for ${m.name}: ${added}`);
      await sh(
        'lxd',
        ['init', '--preseed'],
        lxdEnv(m),
        [
          'cluster:',
          '  enabled: true',
          `  server_name: ${m.name}`,
          `  server_address: ${m.address}:8443`,
          `  cluster_token: ${token}`,
          '  member_config:',
          '  - entity: storage-pool',
          `    name: ${CLUSTER_POOL}`,
          '    key: size',
          `    value: ${poolGb}GiB`,
          '  - entity: storage-pool',
          `    name: ${CLUSTER_POOL}`,
          '    key: source',
          '    value: ""',
          '',
        ].join('\n'),
      );
      log(`joined ${m.name} after ${Math.round(performance.now() - t0)} ms`);
    }
    // The server's client certificate, trusted by the cluster (the remote way: HTTPS, no socket).
    const certFile = path.join(root, 'client.crt');
    const keyFile = path.join(root, 'client.key');
    await sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp384r1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=labwright-cluster-test']);
    const der = (await fs.readFile(certFile, 'utf8')).replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
    const local = new LxdClient({ socketPath: path.join(first.dir, 'unix.socket') });
    try {
      await local.call('POST', '/1.0/certificates', { body: { type: 'client', name: 'labwright-test', certificate: der } });
    } finally {
      local.close();
    }
    cluster.clientCert = await fs.readFile(certFile, 'utf8');
    cluster.clientKey = await fs.readFile(keyFile, 'utf8');
    cluster.serverCert = await fs.readFile(path.join(first.dir, 'cluster.crt'), 'utf8');
    cluster.formedMs = performance.now() - t0;
    return cluster;
  } catch (e) {
    const tail = await Promise.all(members.map(async (m) => `${m.name}: ${(await fs.readFile(path.join(m.dir, 'lxd.log'), 'utf8').catch(() => '')).slice(-1500)}`));
    await cluster.close();
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${tail.join('\n')}`);
  }
}
