// What the Cluster tab costs per refresh (`npx tsx bench/cluster-cost.ts [reads]`): one 3-host
// environment with etcd and Docker, a view with keys (one leased), units and containers, read as the
// tab reads it every 2 s. Prints the server's CPU per refresh (process.cpuUsage), the hosts' CPU per
// refresh (their cgroups' usage, summed), and the wall time; never passes or fails. Needs root.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveClusterView } from '../common/cluster-view.ts';
import { createLocalProvider } from '../provisioning/local/local-provider.ts';
import { EtcdClients, WarmShells, environmentTarget } from '../server/checks/env-target.ts';
import { etcdForHosts } from '../server/cluster/cluster-etcd.ts';
import { readCluster } from '../server/cluster/cluster-reader.ts';
import { DEFAULT_CLUSTER_REFRESH_MS } from '../server/cluster/cluster-module.ts';
import { loadConfig } from '../server/config.ts';
import { logger, setLogLevel } from '../server/log.ts';
import { SshPool } from '../server/ssh/ssh-pool.ts';

const READS = Number(process.argv[2] ?? 100);
const HOSTS = ['host0', 'host1', 'host2'];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

setLogLevel('warn');
const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-bench-cluster-'));
const config = loadConfig({}, { port: 0, dataDir: dir, poolSize: 0 });
const provider = createLocalProvider(config, { log: logger('local-provider') });
const env = await provider.create({ hosts: HOSTS, services: { etcd: 'cluster', docker: true }, owner: 'bench cluster-cost' });
const pool = new SshPool();
const etcdClients = new EtcdClients();
const warm = new WarmShells();
const t = environmentTarget(env, pool, etcdClients, warm);
const etcd = etcdForHosts((host) => t.etcdSocket(host));
try {
  const sh = async (host: string, cmd: string): Promise<string> => (await t.exec(host, cmd, { timeoutMs: 60_000, signal: AbortSignal.timeout(60_000) })).stdout.trim();
  // What a lab page shows: a unit and a container per host, keys with a lease.
  for (const h of HOSTS) {
    await sh(h, 'systemd-run --unit=lwbench-web.service sleep 100000');
    await sh(h, 'docker run -d --name benchbox busybox sleep 100000 >/dev/null 2>&1 || true');
  }
  const lease = /lease ([0-9a-f]+) granted/.exec(await sh('host0', 'etcdctl lease grant 600'))?.[1] ?? '0';
  for (let i = 0; i < 10; i++) await sh('host0', `etcdctl put --lease=${lease} /services/web/${i} 10.0.0.${i}:80 >/dev/null`);
  const view = resolveClusterView({ services: { etcd: 'cluster', docker: true }, cluster: { keys: ['/services/'], units: ['lwbench-*.service'], containers: true } });
  const read = () => readCluster({ hosts: t.hosts, exec: (h, c, o) => t.exec(h, c, o), etcd }, view);
  // The hosts' own CPU counters, read inside each host (its cgroup root is the container's).
  const hostUsageUs = async (): Promise<number> => {
    let sum = 0;
    for (const h of HOSTS) {
      const out = await sh(h, "awk '/^usage_usec/ {print $2}' /sys/fs/cgroup/cpu.stat 2>/dev/null || echo 0");
      sum += Number(out) || 0;
    }
    return sum;
  };
  for (let i = 0; i < 5; i++) await read();
  const snap = await read();
  const walls: number[] = [];
  const h0 = await hostUsageUs();
  const c0 = process.cpuUsage();
  for (let i = 0; i < READS; i++) {
    const s = performance.now();
    await read();
    walls.push(performance.now() - s);
  }
  const c1 = process.cpuUsage(c0);
  const h1 = await hostUsageUs();
  // The hosts' own background (etcd heartbeats, dockerd, systemd) over the same wall time, without reads.
  const spent = walls.reduce((a, b) => a + b, 0);
  const i0 = await hostUsageUs();
  await new Promise((r) => setTimeout(r, spent));
  const idleUs = (await hostUsageUs()) - i0;
  // The counter reads themselves (3 execs) are small next to READS refreshes; they are included.
  const serverMs = (c1.user + c1.system) / 1000 / READS;
  const hostMs = (h1 - h0 - idleUs) / 1000 / READS;
  const idleMs = idleUs / 1000 / READS;
  console.log(`Cluster tab, 3 hosts (etcd members ${snap.etcd?.members.length ?? 0}, ${snap.prefixes[0]?.keys.length ?? 0} keys, ${snap.hosts.reduce((n, x) => n + x.units.length, 0)} units, ${snap.hosts.reduce((n, x) => n + x.containers.length, 0)} containers), ${READS} refreshes:`);
  console.log(`  wall per refresh: median ${median(walls).toFixed(1)} ms`);
  console.log(`  server CPU per refresh: ${serverMs.toFixed(2)} ms`);
  console.log(`  hosts' CPU per refresh (3 hosts together, their idle background over the same time subtracted): ${h1 > 0 ? `${hostMs.toFixed(2)} ms (idle background: ${idleMs.toFixed(2)} ms per refresh-length)` : 'not measurable (no cpu.stat inside the hosts)'}`);
  const every = DEFAULT_CLUSTER_REFRESH_MS;
  console.log(`  at one refresh every ${every / 1000} s: ${((serverMs / every) * 100).toFixed(2)} % of a server core per watching attendee → ~${Math.floor(every / serverMs)} watching attendees per server core`);
} finally {
  etcd.close();
  etcdClients.closeAll();
  warm.closeAll();
  pool.closeAll();
  await provider.destroy(env);
  rmSync(dir, { recursive: true, force: true });
}
