// A test run killed with its LXD cluster up (a CI timeout, Ctrl-C twice) leaves the members' namespaces,
// links, mounted pools on loop devices, surviving processes and the run's directory: the next start sweeps
// them and forms its cluster, while a cluster whose test process still runs is left alone.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../exec.ts';
import { listLinks } from '../../local/network.ts';
import { LxdClient } from '../lxd-client.ts';
import { loopDevicesUnder } from '../lxd-daemon.ts';
import type { LxdTestCluster } from './lxd-cluster.ts';
import { lxdClusterProblem, startLxdCluster } from './lxd-cluster.ts';
import { sweepStaleLxdClusters } from './lxd-cluster-sweep.ts';

const problem = lxdClusterProblem();
if (problem) console.log(`lxd-cluster sweep test skipped: ${problem}`);

interface Crashed {
  root: string;
  netns: string[];
  leakedPid: number;
}

/** Starts a cluster in a child process and SIGKILLs its process group once the cluster is up. */
async function crashedRun(): Promise<Crashed> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'lxd-cluster-child.ts')], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
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
const pidAlive = (pid: number): boolean => existsSync(`/proc/${pid}`);

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
    expect(await loopDevicesUnder(crashed.root)).toHaveLength(1);
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
