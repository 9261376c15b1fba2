// Usage: node --import tsx lxd-cluster-child.ts — starts an LXD test cluster and a process in its first
// member's namespaces that outlives this one (as a container's monitor does), prints one JSON line
// describing them, then waits to be killed: the crash the cluster sweep cleans up after.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startLxdCluster } from './lxd-cluster.ts';

const cluster = await startLxdCluster({ poolGb: 2 });
const [m1] = cluster.members;
if (!m1?.holder?.pid) throw new Error('no first member');
// In its own session (not the killed process group), holding the member's mount namespace and so its mounted pool.
const leaked = spawn('nsenter', ['-t', String(m1.holder.pid), '-m', '-n', 'sleep', '600'], { detached: true, stdio: 'ignore' });
leaked.unref();
process.stdout.write(`${JSON.stringify({ root: path.dirname(m1.dir), netns: cluster.members.map((m) => m.netns), leakedPid: leaked.pid })}\n`);
setInterval(() => undefined, 60_000);
