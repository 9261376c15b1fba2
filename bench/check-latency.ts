// Check latency over warm connections (`npx tsx bench/check-latency.ts [runs]`): an etcd key
// check, an etcd-cluster check (each member's status), a unit check across 3 hosts, and a whole step of the etcd lab. Prints p50/p99; it never
// passes or fails on time. Needs root (it provisions 3 local hosts and removes them afterwards).
import path from 'node:path';
import type { CheckSpec } from '../common/checks.ts';
import { checkSchemas } from '../common/checks.ts';
import { createLocalProvider } from '../provisioning/local/local-provider.ts';
import type { Environment } from '../provisioning/provider.ts';
import { runCheck, runStepChecks } from '../server/checks/check-engine.ts';
import type { CheckTarget } from '../server/checks/check-target.ts';
import { EtcdClients, WarmShells, environmentTarget } from '../server/checks/env-target.ts';
import { execSolves } from '../server/checks/solve-runner.ts';
import { loadConfig } from '../server/config.ts';
import { loadLabFile } from '../server/labs/lint-lab.ts';
import { logger, setLogLevel } from '../server/log.ts';
import { SshPool } from '../server/ssh/ssh-pool.ts';

const RUNS = Number(process.argv[2] ?? 300);
const WARMUP = 20;

function check<K extends keyof typeof checkSchemas>(kind: K, raw: unknown): CheckSpec {
  return { kind, line: 0, spec: checkSchemas[kind].parse(raw) } as CheckSpec;
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function measure(name: string, fn: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const times: number[] = [];
  let failures = 0;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    if (!(await fn())) failures++;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const f = (x: number): string => `${x.toFixed(2)} ms`.padStart(10);
  console.log(`${name.padEnd(34)} p50 ${f(pct(times, 50))}  p99 ${f(pct(times, 99))}  max ${f(times.at(-1) ?? NaN)}  (${RUNS} runs${failures ? `, ${failures} not passing!` : ''})`);
}

setLogLevel('warn');
const provider = createLocalProvider(loadConfig(), { log: logger('local-provider') });
const pool = new SshPool();
const etcd = new EtcdClients();
const warm = new WarmShells();
let env: Environment | undefined;
try {
  const t0 = performance.now();
  env = await provider.create({ hosts: ['host0', 'host1', 'host2'], services: { etcd: 'cluster', docker: false }, owner: 'bench check-latency' });
  console.log(`3 hosts ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${RUNS} sequential runs per figure after ${WARMUP} warm-up runs\n`);
  const target: CheckTarget = environmentTarget(env, pool, etcd, warm);
  const sh = (host: string, cmd: string) => target.exec(host, cmd, { timeoutMs: 10_000, signal: AbortSignal.timeout(10_000) });
  await sh('host0', 'etcdctl put /bench Azure');
  for (const h of env.hosts) await sh(h.name, 'systemd-run --unit=bench-web.service sleep 100000');

  const etcdKey = check('etcd', { key: '/bench', equals: 'Azure' });
  await measure('etcd key check', async () => (await runCheck(target, etcdKey))[0]?.status === 'pass');
  const members = check('etcd-cluster', { running: 3, leader: 'elected' });
  await measure('etcd-cluster check (3 members)', async () => (await runCheck(target, members)).every((r) => r.status === 'pass'));
  const unitAll = check('unit', { name: 'bench-web.service', on: 'all' });
  await measure('unit check across 3 hosts', async () => (await runCheck(target, unitAll)).every((r) => r.status === 'pass'));

  // A real step of the etcd lab (an etcd key and a file on host1), after replaying its solutions.
  const load = await loadLabFile(path.resolve(import.meta.dirname, '..', 'labs', 'etcd', 'lab.md'));
  if (!load.ok) throw new Error('labs/etcd does not lint cleanly');
  const step = load.lab.steps.find((s) => s.checks.length > 1) ?? load.lab.steps[0];
  if (!step) throw new Error('labs/etcd has no steps');
  for (const s of load.lab.steps.slice(0, step.index + 1)) await execSolves(target, s.solves);
  await measure(`whole step ("${step.title.slice(0, 20)}…", ${step.checks.length} checks)`, async () => (await runStepChecks(target, step)).passed);
} finally {
  etcd.closeAll();
  warm.closeAll();
  pool.closeAll();
  if (env) await provider.destroy(env);
}
