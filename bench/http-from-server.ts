// What `http` checks made `from: server` cost now that they go through the host's SSH connection,
// beside the direct request they used to make (fetch to the host's address, as before 2026-12-01),
// on one real host running nginx: sequential latency (p50/p99) and a closed loop of 16 at a time
// (checks/s, server and host CPU per check). Modes alternate in rounds so that a machine's changing
// load falls on both alike. Prints figures; never fails. Run as root: npx tsx bench/http-from-server.ts
// (BENCH_RUNS=300 sequential runs per mode, BENCH_SECONDS=5 per concurrent round, BENCH_ROUNDS=3)
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { CheckSpec } from '../common/checks.ts';
import { checkSchemas } from '../common/checks.ts';
import { runCheck } from '../server/checks/check-engine.ts';
import { EtcdClients, WarmShells, environmentTarget } from '../server/checks/env-target.ts';
import { SshPool } from '../server/ssh/ssh-pool.ts';
import { createBenchEnv, fmt, hostCpuSeconds, percentile } from './bench-kit.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 300);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = 16;

const serverCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const bench = await createBenchEnv(['host0']);
const pool = new SshPool();
const etcd = new EtcdClients();
const warm = new WarmShells();
try {
  const env = bench.env;
  const address = env.hosts[0]?.address;
  if (!address) throw new Error('no host0');
  const t = environmentTarget(env, pool, etcd, warm);
  await t.execSession('host0', 'systemctl start nginx', { timeoutMs: 20_000, signal: AbortSignal.timeout(20_000) });
  const spec = { kind: 'http', line: 0, spec: checkSchemas.http.parse({ url: 'http://host0/', body: 'nginx' }) } as CheckSpec;
  const url = `http://${address}/`;

  /** One check each way; true when it passed. */
  const modes: [string, () => Promise<boolean>][] = [
    [
      'direct (fetch, as before)',
      async () => {
        // What the check did before: fetch to the host's address, the body read and matched.
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: 'manual' });
        return res.status === 200 && /nginx/.test(await res.text());
      },
    ],
    ['through SSH (the check now)', async () => (await runCheck(t, spec))[0]?.status === 'pass'],
  ];

  const seq = new Map<string, number[]>(modes.map(([n]) => [n, []]));
  const conc = new Map<string, { n: number; secs: number; server: number; host: number; times: number[]; failed: number }>(
    modes.map(([n]) => [n, { n: 0, secs: 0, server: 0, host: 0, times: [], failed: 0 }]),
  );
  for (const [, fn] of modes) for (let i = 0; i < 20; i++) await fn();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of modes) {
      const times = seq.get(name)!;
      for (let i = 0; i < Math.ceil(RUNS / ROUNDS); i++) {
        const s = performance.now();
        if (!(await fn())) throw new Error(`${name}: a check did not pass`);
        times.push(performance.now() - s);
      }
      const c = conc.get(name)!;
      const c0 = serverCpu();
      const h0 = hostCpuSeconds(env.id);
      const start = performance.now();
      let stop = false;
      setTimeout(() => (stop = true), SECONDS * 1000);
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (!stop) {
            const s = performance.now();
            if (!(await fn())) c.failed++;
            c.times.push(performance.now() - s);
            c.n++;
          }
        }),
      );
      c.secs += (performance.now() - start) / 1000;
      c.server += serverCpu() - c0;
      c.host += hostCpuSeconds(env.id) - h0;
    }
  }
  console.log(`http check from the server to one nginx host, ${ROUNDS} alternating rounds; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
  console.log(`${'mode'.padEnd(28)}  seq p50 ms  seq p99 ms  | ${CONCURRENCY} at once: checks/s  p50 ms  server ms CPU/check  host ms CPU/check  not passing`);
  for (const [name] of modes) {
    const s = seq.get(name)!.sort((a, b) => a - b);
    const c = conc.get(name)!;
    c.times.sort((a, b) => a - b);
    console.log(
      `${name.padEnd(28)}  ${fmt(percentile(s, 50)).padStart(10)}  ${fmt(percentile(s, 99)).padStart(10)}  | ${fmt(c.n / c.secs, 0).padStart(18)}  ${fmt(percentile(c.times, 50)).padStart(6)}  ${fmt((c.server / c.n) * 1000, 3).padStart(19)}  ${fmt((c.host / c.n) * 1000, 3).padStart(17)}  ${String(c.failed).padStart(11)}`,
    );
  }
} finally {
  etcd.closeAll();
  warm.closeAll();
  pool.closeAll();
  await bench.destroy();
}
process.exit(0);
