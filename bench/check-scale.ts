// Check cost at room scale: how many automatic checks a second one server process sustains through
// the server-wide re-check queue (LABWRIGHT_AUTO_CHECK_CONCURRENCY), and what each costs in server
// and host CPU, by kind. Each simulated attendee has its own SSH connection, warm check shells and
// etcd client (as with hosts of their own) to the same two real hosts. The server side (this
// process) is pinned to one CPU, the hosts to the other. Prints figures; never fails.
// Run as root: npx tsx bench/check-scale.ts   (BENCH_SECONDS=8 BENCH_CONCURRENCY=16 BENCH_ROOMS=300)
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { CheckSpec } from '../common/checks.ts';
import { checkSchemas } from '../common/checks.ts';
import type { Environment } from '../provisioning/provider.ts';
import { AutoCheckQueue } from '../server/checks/auto-check-queue.ts';
import { runCheck } from '../server/checks/check-engine.ts';
import { EtcdClients, WarmShells, environmentTarget } from '../server/checks/env-target.ts';
import { DEFAULT_AUTO_CHECK_CONCURRENCY, DEFAULT_RECHECK_MS } from '../server/checks/checks-module.ts';
import { SshPool } from '../server/ssh/ssh-pool.ts';
import { createBenchEnv, fmt, hostCpuSeconds, isolateHosts, percentile, pinHosts, pinToCpus, renice } from './bench-kit.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? DEFAULT_AUTO_CHECK_CONCURRENCY);
const ROOMS = Number(process.env.BENCH_ROOMS ?? 300);

function check<K extends keyof typeof checkSchemas>(kind: K, raw: unknown): CheckSpec {
  return { kind, line: 0, spec: checkSchemas[kind].parse(raw) } as CheckSpec;
}
const load = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const serverCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const pin = os.availableParallelism() > 1;
if (pin) pinToCpus(process.pid, '1');
// Ahead of other jobs on a shared machine (as attendee-capacity.ts).
renice(process.pid, -10);
const bench = await createBenchEnv(['host0', 'host1'], {}, { etcd: 'cluster', docker: false });
let unisolate = (): void => undefined;
const pool = new SshPool();
const etcd = new EtcdClients();
const warm = new WarmShells();
try {
  if (pin) {
    pinHosts(bench.env.id, '1', -10);
    unisolate = isolateHosts(bench.env.id, '1');
    // From here on this process is the server side: its own CPU.
    pinToCpus(process.pid, '0');
  }
  const env = bench.env;
  const host0 = env.hosts[0];
  if (!host0) throw new Error('no host0');
  // One view of the environment per simulated attendee: their own connection, shells and etcd client.
  const rooms: Environment[] = Array.from({ length: CONCURRENCY }, (_, i) => ({ ...env, id: `${env.id}-room${i}` }));
  const targets = rooms.map((e) => environmentTarget(e, pool, etcd, warm));
  const t0 = targets[0];
  if (!t0) throw new Error('no rooms');
  const sh = (cmd: string) => t0.execSession('host0', cmd, { timeoutMs: 20_000, signal: AbortSignal.timeout(20_000) });
  await sh('etcdctl put /bench Azure && systemctl start nginx');

  const kinds: [string, CheckSpec][] = [
    ['command (test -d /etc on host0)', check('command', { on: 'host0', run: 'test -d /etc' })],
    ['file (/etc/hostname on all)', check('file', { on: 'all', path: '/etc/hostname' })],
    ['etcd (key equals)', check('etcd', { key: '/bench', equals: 'Azure' })],
    ['http from the server', check('http', { url: `http://${host0.address}/` })],
    ['http from host0 (curl)', check('http', { from: 'host0', url: 'http://127.0.0.1/' })],
  ];
  console.log(`check cost: ${CONCURRENCY} automatic runs at once (the server-wide queue), each simulated attendee with its own SSH connection, shells and etcd client, on 2 shared hosts`);
  console.log(pin ? 'server side (this process) pinned to CPU 0, hosts to CPU 1' : 'one CPU: server and hosts share it');
  console.log(`${ROOMS} attendees re-checking every ${DEFAULT_RECHECK_MS} ms need ${fmt(ROOMS / (DEFAULT_RECHECK_MS / 1000), 0)} checks/s\n`);
  console.log(`${'kind'.padEnd(34)}  checks/s  server ms CPU/check  host ms CPU/check  p50 ms  p99 ms  not passing  load average`);
  for (const [name, spec] of kinds) {
    // Warm-up: connections, shells and clients made.
    await Promise.all(targets.map((t) => runCheck(t, spec)));
    const queue = new AutoCheckQueue({ concurrency: CONCURRENCY });
    const times: number[] = [];
    let failed = 0;
    let stop = false;
    const c0 = serverCpu();
    const h0 = hostCpuSeconds(env.id);
    const start = performance.now();
    // Closed loop: as many rooms as the queue admits, each queueing its next run as soon as one ends.
    await new Promise<void>((resolve) => {
      let live = targets.length;
      const loop = (t: (typeof targets)[number]): void => {
        if (stop) {
          if (--live === 0) resolve();
          return;
        }
        queue.add(async () => {
          const s = performance.now();
          const r = await runCheck(t, spec);
          times.push(performance.now() - s);
          if (!r.every((x) => x.status === 'pass')) failed++;
          loop(t);
        });
      };
      targets.forEach(loop);
      setTimeout(() => (stop = true), SECONDS * 1000);
    });
    const secs = (performance.now() - start) / 1000;
    const n = times.length;
    const serverMs = ((serverCpu() - c0) / n) * 1000;
    const hostMs = ((hostCpuSeconds(env.id) - h0) / n) * 1000;
    times.sort((a, b) => a - b);
    console.log(
      `${name.padEnd(34)}  ${fmt(n / secs, 0).padStart(8)}  ${fmt(serverMs, 3).padStart(19)}  ${fmt(hostMs, 2).padStart(17)}  ${fmt(percentile(times, 50)).padStart(6)}  ${fmt(percentile(times, 99)).padStart(6)}  ${String(failed).padStart(11)}  ${load()}`,
    );
  }
} finally {
  etcd.closeAll();
  warm.closeAll();
  pool.closeAll();
  await bench.destroy();
  unisolate();
}
process.exit(0);
