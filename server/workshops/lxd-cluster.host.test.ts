// A workshop on a real two-member LXD cluster (two daemons on this machine, each in its own network
// namespace, provisioning/lxd/testing/lxd-cluster.ts), driven the remote way: HTTPS with a client
// certificate. The attendees' environments land on both members; a terminal and a check work on each;
// then one member dies (daemon and containers killed) and its attendee is told — hosts unreachable,
// a check that cannot be evaluated rather than failed — while the other attendee keeps working.
// First (in this file, so that no two clusters want the subnet at once): a test run killed with its cluster
// up leaves namespaces, links, mounted pools, processes and its directory; the next start sweeps them.
// Then: a member's mount namespace, a copy of the machine's, lets go of the machine's other disks.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../common/checks.ts';
import type { ServerMessage } from '../../common/protocol.ts';
import { parseServerFrame } from '../../common/protocol.ts';
import type { WorkshopInfo } from '../../common/workshop.ts';
import { run } from '../../provisioning/exec.ts';
import { listLinks } from '../../provisioning/local/network.ts';
import { LxdClient } from '../../provisioning/lxd/lxd-client.ts';
import { loopDevicesUnder } from '../../provisioning/lxd/lxd-daemon.ts';
import type { LxdProvider } from '../../provisioning/lxd/lxd-provider.ts';
import { createLxdProvider, subnetsDirOf } from '../../provisioning/lxd/lxd-provider.ts';
import type { LxdTestCluster } from '../../provisioning/lxd/testing/lxd-cluster.ts';
import { lxdClusterProblem, startLxdCluster } from '../../provisioning/lxd/testing/lxd-cluster.ts';
import { sweepStaleLxdClusters } from '../../provisioning/lxd/testing/lxd-cluster-sweep.ts';
import { parseMountinfo } from '../../provisioning/lxd/testing/member-mounts.ts';
import type { Environment } from '../../provisioning/provider.ts';
import type { ComposedServer } from '../compose.ts';
import { composeServer } from '../compose.ts';
import { loadConfig } from '../config.ts';
import type { TestSocket } from '../testing/test-server.ts';
import { apiCall, cookieOf, openHello } from '../testing/test-server.ts';

const TOKEN = 'instructor-secret-for-the-lxd-cluster-test';
const LAB_ID = 'cluster-drill';
const LAB = `---
title: Cluster drill
hosts: [host0]
services: { etcd: none, docker: false }
---
## Leave a mark

\`\`\`run host0
touch /tmp/lw-mark
\`\`\`

\`\`\`check
file: { on: host0, path: /tmp/lw-mark }
\`\`\`
`;

const problem = lxdClusterProblem();
if (problem) console.log(`lxd-cluster test skipped: ${problem}`);

/** Fails with what it waited for instead of timing out the whole test silently. */
function bounded<T>(p: Promise<T>, what: string, ms = 120_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** One attendee: their page's socket, every message it got, their hosts. */
interface Attendee {
  name: string;
  sessionId: string;
  page: TestSocket;
  seen: ServerMessage[];
  env?: Environment;
  member?: string;
}

/** Resolves with the first message (already seen or to come) that `pred` maps to a value. */
async function seen<T>(a: Attendee, pred: (m: ServerMessage) => T | undefined, what: string, from = 0, ms?: number): Promise<T> {
  return bounded(
    (async () => {
      for (let i = from; ; i++) {
        while (i >= a.seen.length) await new Promise((r) => setTimeout(r, 50));
        const v = pred(a.seen[i]!);
        if (v !== undefined) return v;
      }
    })(),
    `${what} for ${a.name}`,
    ms,
  );
}

interface Crashed {
  root: string;
  netns: string[];
  leakedPid: number;
}

/** Starts a cluster in a child process and SIGKILLs its process group once the cluster is up. */
async function crashedRun(): Promise<Crashed> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '..', '..', 'provisioning', 'lxd', 'testing', 'lxd-cluster-child.ts')], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const crashed = await new Promise<Crashed>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const line = buf.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as Crashed);
    });
    child.on('exit', (code) => reject(new Error(`the child exited (${code}) before its cluster was up`)));
  });
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
  return crashed;
}

const netnsList = async (): Promise<string> => (await run('ip', ['netns', 'list'])).stdout;
/**
 * Whether the process runs: /proc/<pid> is there and not a zombie. A process the sweep killed whose parent
 * died with the crashed run is reparented to PID 1 here, which reaps it when it gets to it: until then it
 * is a zombie — dead, holding nothing — and /proc/<pid> stays (a CI run caught that window once).
 */
function pidAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // The state is the field after the command, which ends at the last ')'.
  return stat[stat.lastIndexOf(')') + 2] !== 'Z';
}

describe.skipIf(problem !== undefined)('an LXD test cluster after a killed test run', () => {
  let cluster: LxdTestCluster | undefined;
  let crashed: Crashed | undefined;

  afterAll(async () => {
    await cluster?.close();
    if (cluster) expect(await cluster.leftovers()).toEqual([]);
    // Should the sweep have failed: what the crash left goes anyway.
    await sweepStaleLxdClusters();
  }, 120_000);

  it('sweeps what the killed run left, forms anew, and leaves a live cluster alone', { timeout: 300_000 }, async () => {
    crashed = await crashedRun();
    const id = crashed.netns[0]!.replace(/^lwc|m1$/g, '');
    // The crash as it is: the members' namespaces and links, the pool still mounted (a surviving process
    // holds the member's mount namespace) on its loop device, the run's directory.
    expect((await listLinks()).filter((l) => l.startsWith(`lwc${id}`)).sort()).toEqual([`lwc${id}br`, `lwc${id}v1`, `lwc${id}v2`]);
    for (const n of crashed.netns) expect(await netnsList()).toContain(n);
    expect(pidAlive(crashed.leakedPid)).toBe(true);
    expect(await loopDevicesUnder(path.join(crashed.root, 'm1'))).toHaveLength(1);
    expect(existsSync(crashed.root)).toBe(true);

    const log: string[] = [];
    cluster = await startLxdCluster({ poolGb: 2, log: (l) => log.push(l) });
    console.log(`formed after the sweep in ${Math.round(cluster.formedMs)} ms; ${log.join('\n')}`);
    expect(log.some((l) => l.startsWith('sweeping a stale LXD cluster run') && l.includes(crashed!.root))).toBe(true);
    expect(log).toContain(`swept link lwc${id}br`);
    expect((await listLinks()).filter((l) => l.startsWith(`lwc${id}`))).toEqual([]);
    for (const n of crashed.netns) expect(await netnsList()).not.toContain(n);
    expect(pidAlive(crashed.leakedPid)).toBe(false);
    expect(await loopDevicesUnder(crashed.root)).toEqual([]);
    expect(existsSync(crashed.root)).toBe(false);

    // This process's cluster is live: a sweep (another run starting) finds nothing to remove, and it still answers.
    expect(await sweepStaleLxdClusters()).toEqual([]);
    await expect(startLxdCluster({ poolGb: 2 })).rejects.toThrow(/in use on this machine .* by a cluster test still running/);
    const client = new LxdClient({ socketPath: path.join(cluster.members[0]!.dir, 'unix.socket') });
    try {
      const members = await client.get<{ server_name: string; status: string }[]>('/1.0/cluster/members?recursion=1');
      expect(members.map((m) => `${m.server_name} ${m.status}`).sort()).toEqual(['m1 Online', 'm2 Online']);
    } finally {
      client.close();
    }
  });
});

describe.skipIf(problem !== undefined)("a cluster member and the machine's other disks", () => {
  let dir = '';
  let loop = '';
  let mnt = '';
  let cluster: LxdTestCluster | undefined;

  beforeAll(async () => {
    // Another environment's disk, as a local host's is: an ext4 file on a loop device, mounted before the member starts.
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-member-mounts-'));
    const image = path.join(dir, 'disk.img');
    await run('truncate', ['-s', '16M', image]);
    await run('mkfs.ext4', ['-q', image]);
    loop = (await run('losetup', ['--find', '--show', image])).stdout.trim();
    mnt = path.join(dir, 'mnt');
    mkdirSync(mnt);
    await run('mount', [loop, mnt]);
    cluster = await startLxdCluster({ members: 1, poolGb: 1 });
  }, 300_000);

  afterAll(async () => {
    await cluster?.close();
    if (mnt) await run('umount', [mnt], { okCodes: [0, 32] });
    if (loop) await run('losetup', ['-d', loop], { okCodes: [0, 1] });
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (cluster) expect(await cluster.leftovers()).toEqual([]);
  }, 120_000);

  it('holds no copy of a loop-mounted disk the machine had when it started: the loop device is freed while the member lives', async () => {
    const m = cluster!.members[0]!;
    for (const pid of [m.holder!.pid!, m.daemon!.pid!]) {
      const mounts = parseMountinfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
      expect(mounts.filter((x) => x.source === loop || x.target === mnt)).toEqual([]);
    }
    // The machine keeps its own: the member let go in its namespace only.
    expect(parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).some((x) => x.target === mnt && x.source === loop)).toBe(true);
    await run('umount', [mnt]);
    await run('losetup', ['-d', loop]);
    // Unbound, not merely marked to go when its last user closes it.
    await expect.poll(() => existsSync(`/sys/block/${path.basename(loop)}/loop/backing_file`), { timeout: 5000 }).toBe(false);
    expect(pidAlive(m.holder!.pid!) && pidAlive(m.daemon!.pid!)).toBe(true);
  });
});

describe.skipIf(problem !== undefined)('a workshop on a two-member LXD cluster', () => {
  let dir: string;
  let cluster: LxdTestCluster | undefined;
  let provider: LxdProvider | undefined;
  let composed: ComposedServer | undefined;
  const sockets: TestSocket[] = [];
  const timings: Record<string, number> = {};
  // Outside the default subnet range: blocks nothing while it exists.
  const otherReservation = path.join(subnetsDirOf(undefined), '10.251.255.224_27');
  let otherReservationKept = false;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lw-lxd-cluster-'));
    mkdirSync(path.join(dir, 'labs', LAB_ID), { recursive: true });
    writeFileSync(path.join(dir, 'labs', LAB_ID, 'lab.md'), LAB);
    // What it logs: what it swept of a killed earlier run, how long forming took.
    cluster = await startLxdCluster({ poolGb: 6, log: (l) => console.log(`lxd cluster: ${l}`) });
    timings.clusterFormedMs = Math.round(cluster.formedMs);
    for (const [f, pem] of [['client.crt', cluster.clientCert], ['client.key', cluster.clientKey], ['cluster.crt', cluster.serverCert]] as const) writeFileSync(path.join(dir, f), pem, { mode: 0o600 });
    const config = loadConfig(
      {
        LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN,
        LABWRIGHT_PROVIDER: 'lxd',
        LABWRIGHT_LXD_URL: cluster.url,
        LABWRIGHT_LXD_CERT: path.join(dir, 'client.crt'),
        LABWRIGHT_LXD_KEY: path.join(dir, 'client.key'),
        LABWRIGHT_LXD_SERVER_CERT: path.join(dir, 'cluster.crt'),
        LABWRIGHT_POOL_SIZE: '0',
        // Both environments are made at once: placement must spread them though neither is listed yet.
        LABWRIGHT_BOOT_CONCURRENCY: '2',
      },
      { port: 0, dataDir: path.join(dir, 'data'), labsDir: path.join(dir, 'labs') },
    );
    // A subnet reservation of an environment of this machine's own LXD daemon (which the cluster does not
    // list): the cluster provider's recovery at start must leave it alone.
    mkdirSync(subnetsDirOf(undefined), { recursive: true });
    writeFileSync(otherReservation, 'lxzz9zz\n');
    provider = createLxdProvider(config);
    composed = await composeServer({ config, provider, recheckMs: 0 });
    otherReservationKept = existsSync(otherReservation);
    rmSync(otherReservation, { force: true });
  }, 300_000);

  afterAll(async () => {
    for (const s of sockets.splice(0)) s.ws.terminate();
    await composed?.close();
    provider?.close();
    // The daemons go with everything they ran: containers, proxies, networks, pools, namespaces.
    await cluster?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    rmSync(otherReservation, { force: true });
    // The reservations of the cluster's environments on this machine (a directory only this test's URL uses).
    if (cluster && subnetsDirOf(cluster.url) !== subnetsDirOf(undefined)) rmSync(subnetsDirOf(cluster.url), { recursive: true, force: true });
    console.log(`lxd cluster timings: ${JSON.stringify(timings)}`);
    if (cluster) expect(await cluster.leftovers()).toEqual([]);
  }, 120_000);

  it("leaves alone the subnet reservations of this machine's own LXD when it recovers at start", () => {
    expect(otherReservationKept).toBe(true);
  });

  it('places attendees on both members, serves terminals and checks on each, and tells the attendees of a member that dies', { timeout: 600_000 }, async () => {
    const server = composed!.server;
    const origin = new URL(server.url).origin;
    const api = (p: string, init: Parameters<typeof apiCall>[2] = {}): Promise<Response> => apiCall(server.url, p, init);
    const instructor = cookieOf(await api('instructor/login', { method: 'POST', body: { token: TOKEN } }));
    const created = await api('workshops', { method: 'POST', cookie: instructor, body: { labId: LAB_ID, capacity: 2, minutes: 60 } });
    expect(created.status).toBe(201);
    const w = (await created.json()) as WorkshopInfo;
    const code = w.joinPath.split('/').pop()!;

    // Two attendees join and open the lab: each gets an environment, both made at once.
    const attendees: Attendee[] = [];
    const t0 = performance.now();
    for (const name of ['Ada', 'Bob']) {
      const cookie = cookieOf(await api(`join/${code}`, { method: 'POST', body: { name } }));
      const session = composed!.stack.store.sessions.attendeesOf(w.id).find((s) => s.displayName === name)!;
      const page = await openHello({ serverUrl: server.url, origin, cookie, labId: LAB_ID, track: sockets });
      const a: Attendee = { name, sessionId: session.id, page, seen: [] };
      page.ws.on('message', (d: Buffer, isBinary: boolean) => {
        const m = isBinary ? parseServerFrame(d) : undefined;
        a.seen.push(m?.ok ? m.value : (JSON.parse(d.toString('utf8')) as ServerMessage));
      });
      attendees.push(a);
    }
    await Promise.all(
      attendees.map(async (a) => {
        a.env = await bounded(composed!.stack.workspaces.workspaces.whenReady(a.sessionId, LAB_ID), `environment of ${a.name}`, 400_000);
        timings[`env${a.name}Ms`] = Math.round(performance.now() - t0);
      }),
    );

    // LXD says where each environment's instance runs: one on each member, reached on that member's address.
    const client = await provider!.client();
    const instances = await client.get<{ name: string; location: string; config: Record<string, string> }[]>('/1.0/instances?recursion=1');
    for (const a of attendees) {
      const mine = instances.filter((i) => i.config['user.labwright.env'] === a.env!.id);
      expect(mine).toHaveLength(1);
      const location = mine[0]!.location;
      a.member = location;
      const member = cluster!.members.find((m) => m.name === location)!;
      expect(a.env!.hosts[0]!.address).toBe(member.address);
      timings[`env${a.name}On`] = Number(location.slice(1));
    }
    expect(new Set(attendees.map((a) => a.member))).toEqual(new Set(['m1', 'm2']));

    // On each member: the terminal answers, the step's command run there makes its check pass.
    const terminal = async (a: Attendee, channel: number, text: string): Promise<void> => {
      const from = a.seen.length;
      a.page.send({ type: 'term-open', channel, host: 'host0', cols: 80, rows: 24 });
      await seen(a, (m) => (m.type === 'term-opened' && m.channel === channel ? m : undefined), 'terminal opened', from);
      a.page.send({ type: 'term-input', channel, data: `${text}\r` });
      await seen(a, (m) => (m.type === 'term-output' && m.channel === channel && Buffer.from(m.data).toString('utf8').includes('lw-42') ? m : undefined), 'terminal output', from, 30_000);
    };
    const check = async (a: Attendee): Promise<CheckResult[]> => {
      const from = a.seen.length;
      a.page.send({ type: 'check-run', step: 0 });
      return (await seen(a, (m) => (m.type === 'check-report' && m.report.step === 0 ? m.report : undefined), 'check report', from, 60_000)).results;
    };
    for (const [i, a] of attendees.entries()) {
      await terminal(a, i + 1, 'touch /tmp/lw-mark; echo lw-$((6*7))');
      expect((await check(a)).map((r) => r.status)).toEqual(['pass']);
    }

    // The member without the cluster's database leader dies: daemon, proxies and containers killed.
    const dying = attendees.find((a) => a.member === 'm2')!;
    const living = attendees.find((a) => a.member === 'm1')!;
    const mark = dying.seen.length;
    const tKill = performance.now();
    await cluster!.killMember('m2');
    // Its attendee is told: the host shows unreachable in the environment's status and the terminal.
    await seen(dying, (m) => (m.type === 'env-status' && m.hosts.some((h) => h.name === 'host0' && !h.reachable) ? m : undefined), 'host0 shown unreachable', mark, 60_000);
    timings.toldUnreachableMs = Math.round(performance.now() - tKill);
    await seen(dying, (m) => (m.type === 'term-state' && (m.state === 'unreachable' || m.state === 'reconnecting') ? m : undefined), 'terminal state', mark, 60_000);
    // A check there cannot be evaluated: an error naming the host as unreachable, not a failed step.
    const results = await check(dying);
    expect(results.map((r) => r.status)).toEqual(['error']);
    expect(results[0]!.message).toMatch(/unreachable|no answer|refused|closed/i);
    timings.checkAfterKillMs = Math.round(performance.now() - tKill);

    // The other member's attendee keeps working: a new terminal line, a check that still passes.
    await terminal(living, 9, 'echo lw-$((6*7))');
    expect((await check(living)).map((r) => r.status)).toEqual(['pass']);
  });
});
