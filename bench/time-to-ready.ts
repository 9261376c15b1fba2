// Time until lab hosts are ready (SSH answers, systemd running, etcd healthy, Docker with busybox), cold
// (image cached, no pool) and warm (claimed from a pool), for 1 and 3 hosts; plus what a host costs in memory.
// Run as root: npx tsx bench/time-to-ready.ts [--runs N] [--image <rootfs dir>] [--isolation userns,privileged] [--provider local,lxd] [--only-cold] [--trace].
// The first cold 3-host create prints a breakdown per host (boot CPU by unit, when each service was up);
// --trace also counts and times every process that create started (tracefs), by command.
// --only-cold skips the pool claims (short runs for a quiet machine).
// --isolation runs the whole set once per host isolation mode (default: both), to compare them in one run.
// --provider lxd (or local,lxd) adds the LXD provider (its own daemon here): cold, pool claim, snapshot, restore; a table side by side at the end.
// Each cold set also prints how busy the machine was during the creates, and whose CPU that was (hosts, this
// process and its helpers, everything else) and how much the hypervisor stole: a quiet window shows both near zero.
// Prints figures; never passes or fails on time.
import fs from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import { busyCpuSeconds, cpuTimes, processCpuSeconds } from './bench-kit.ts';
import { processStartMs, traceProcesses, unitBreakdown } from './boot-breakdown.ts';
import { ensureImage } from '../provisioning/image/build-image.ts';
import { createLocalProvider } from '../provisioning/local/local-provider.ts';
import { leftoversOf } from '../provisioning/local/leftovers.ts';
import { readState } from '../provisioning/local/state.ts';
import { lxdLeftoversOf } from '../provisioning/lxd/lxd-leftovers.ts';
import { createLxdProvider } from '../provisioning/lxd/lxd-provider.ts';
import { WarmPool } from '../provisioning/pool.ts';
import type { EnvironmentSpec } from '../provisioning/provider.ts';
import { loadConfig } from '../server/config.ts';
import type { HostIsolation } from '../server/config.ts';
import { logger, setLogLevel } from '../server/log.ts';

const runsArg = process.argv.indexOf('--runs');
const imageArg = process.argv.indexOf('--image');
/** A built image root to boot instead of the current recipe's (compare images without rebuilding). */
const IMAGE = imageArg > 0 ? process.argv[imageArg + 1] : undefined;
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const isolationArg = process.argv.indexOf('--isolation');
const MODES = (isolationArg > 0 ? (process.argv[isolationArg + 1] ?? '') : 'userns,privileged').split(',') as HostIsolation[];
const providerArg = process.argv.indexOf('--provider');
const PROVIDERS = (providerArg > 0 ? (process.argv[providerArg + 1] ?? '') : 'local').split(',');
const TRACE = process.argv.includes('--trace');
const ONLY_COLD = process.argv.includes('--only-cold');
if (!Number.isInteger(RUNS) || RUNS < 1 || MODES.some((m) => m !== 'userns' && m !== 'privileged') || PROVIDERS.some((p) => p !== 'local' && p !== 'lxd')) {
  console.error('usage: npx tsx bench/time-to-ready.ts [--runs N] [--image <rootfs dir>] [--isolation userns,privileged] [--provider local,lxd] [--only-cold] [--trace]');
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error('time-to-ready: run as root (the local provider creates bridges, mounts and cgroups)');
  process.exit(2);
}
setLogLevel('warn');

const config = loadConfig();
// Pinned to one built image (and its Docker seed, made before timing): a recipe edited while the bench
// runs must not put an image build into a "cold" figure.
const image = IMAGE ?? (await ensureImage({ cacheDir: config.cacheDir })).rootfs;
let provider = createLocalProvider(config, { imageRootfs: image, log: logger('local-provider') });
const spec = (n: number): EnvironmentSpec => ({ hosts: Array.from({ length: n }, (_, i) => `host${i}`), services: { etcd: 'cluster', docker: true }, owner: 'bench' });

/** Medians by provider column and figure, for the side-by-side table at the end. */
const table = new Map<string, Map<string, number>>();
const record = (column: string, figure: string, median: number): void => void table.set(column, (table.get(column) ?? new Map<string, number>()).set(figure, median));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function summary(label: string, ms: number[]): number {
  const s = [...ms].sort((a, b) => a - b);
  const med = median(s);
  const f = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);
  console.log(`${label.padEnd(34)} median ${f(med).padStart(9)}   min ${f(s[0]!).padStart(9)}   max ${f(s.at(-1)!).padStart(9)}   (n=${s.length})`);
  return med;
}

/** v1 memory cgroup usage of each host: everything the host's processes use, page cache included. */
async function costPerHost(envId: string): Promise<{ usage: number; rss: number; cpuMs: number }[]> {
  const st = await readState(config.dataDir, envId);
  const out: { usage: number; rss: number; cpuMs: number }[] = [];
  for (const h of st?.hosts ?? []) {
    const mem = h.cgroups.find((c) => c.includes(`${path.sep}memory${path.sep}`));
    const unified = h.cgroups.find((c) => c.includes(`${path.sep}unified${path.sep}`));
    if (!mem) continue;
    const usage = Number(await fs.readFile(path.join(mem, 'memory.usage_in_bytes'), 'utf8'));
    const stat = await fs.readFile(path.join(mem, 'memory.stat'), 'utf8');
    const rss = Number(/^total_rss (\d+)$/m.exec(stat)?.[1] ?? 0);
    // CPU time the host used from launch to ready: unlike wall time, it does not depend on what else the machine runs.
    const cpu = unified ? await fs.readFile(path.join(unified, 'cpu.stat'), 'utf8').catch(() => '') : '';
    out.push({ usage, rss, cpuMs: Number(/^usage_usec (\d+)$/m.exec(cpu)?.[1] ?? 0) / 1000 });
  }
  return out;
}

/** CPU the whole machine used while one create ran, and whose it was. */
interface MachineCpu {
  wallMs: number;
  /** All CPUs' busy time (/proc/stat), steal not included. */
  busyMs: number;
  /** Time the hypervisor ran someone else on this machine's CPUs while they had work. */
  stealMs: number;
  /** The new hosts' cgroups (read just after the create: its readiness login included). */
  hostsMs: number;
  /** This process and the helpers it ran and reaped (mount, cp, mkfs…). */
  selfMs: number;
}

const CPUS = cpus().length;

/**
 * Medians over the creates: how busy the machine was (of its CPUs over the create's wall time) and how much of
 * that was the hosts, this process and everything else. A boot that keeps every CPU busy is bound by CPU, not
 * by waiting; "everything else" large means other jobs shared the machine, and steal large that other virtual machines
 * shared its physical CPUs: the wall times are theirs too.
 */
function machineCpuLine(label: string, runs: MachineCpu[]): string {
  const med = (f: (r: MachineCpu) => number): number => median(runs.map(f));
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  const busy = med((r) => (r.busyMs / (r.wallMs * CPUS)) * 100);
  return `${label.padEnd(34)} median ${s(med((r) => r.busyMs))} busy (${busy.toFixed(0)} % of ${CPUS} CPUs over the create): hosts ${s(med((r) => r.hostsMs))}, this process and its helpers ${s(med((r) => r.selfMs))}, everything else ${s(med((r) => r.busyMs - r.hostsMs - r.selfMs))}; stolen by the hypervisor ${s(med((r) => r.stealMs))}`;
}

const loadavg = async (): Promise<string> => (await fs.readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');

async function cold(n: number): Promise<void> {
  const times: number[] = [];
  const destroys: number[] = [];
  const cpus: number[] = [];
  const machine: MachineCpu[] = [];
  for (let i = 0; i < RUNS; i++) {
    const stopTrace = i === 0 && n === 3 && TRACE ? await traceProcesses() : undefined;
    const cores = cpuTimes();
    const self = processCpuSeconds(process.pid);
    const t0 = performance.now();
    const env = await provider.create(spec(n));
    times.push(performance.now() - t0);
    const used = busyCpuSeconds(cores, cpuTimes());
    const selfMs = (processCpuSeconds(process.pid) - self) * 1000;
    const trace = await stopTrace?.();
    const cost = await costPerHost(env.id);
    cpus.push(...cost.map((c) => c.cpuMs));
    machine.push({ wallMs: times.at(-1)!, busyMs: used.busy * 1000, stealMs: used.steal * 1000, hostsMs: cost.reduce((a, c) => a + c.cpuMs, 0), selfMs });
    if (i === 0 && n === 3) {
      const mb = (b: number): string => `${(b / 1048576).toFixed(0)} MiB`;
      const st = await readState(config.dataDir, env.id);
      for (const [k, m] of cost.entries()) {
        console.log(`host${k} (etcd+docker, just ready): memory cgroup usage ${mb(m.usage)}, rss ${mb(m.rss)}; CPU used to boot ${m.cpuMs.toFixed(0)} ms`);
      }
      for (const [k, m] of cost.entries()) {
        const started = st?.hosts[k] ? await processStartMs(st.hosts[k].pid) : undefined;
        console.log(`  ${await unitBreakdown(env, `host${k}`, m.cpuMs, started).catch((e: unknown) => `host${k}: no breakdown (${String(e)})`)}`);
      }
      if (TRACE) console.log(trace ? trace.map((l) => `  ${l}`).join('\n') : '  --trace: no tracefs here (/sys/kernel/tracing)');
    }
    const t1 = performance.now();
    await provider.destroy(env);
    destroys.push(performance.now() - t1);
    const left = await leftoversOf(config.dataDir, env.id);
    if (left.length) console.log(`LEAK after destroy of ${env.id}: ${left.join(', ')}`);
  }
  record(`local ${provider.isolation}`, `cold ${n}`, summary(`${provider.isolation}: cold, ${n} host${n > 1 ? 's' : ''}, etcd+docker`, times));
  record(`local ${provider.isolation}`, `boot CPU/host (${n})`, summary(`${provider.isolation}: boot CPU per host (${n} at once)`, cpus));
  summary(`${provider.isolation}: destroy, ${n} host${n > 1 ? 's' : ''}`, destroys);
  console.log(machineCpuLine(`${provider.isolation}: machine CPU per create (${n})`, machine));
}

async function warm(n: number): Promise<void> {
  const pool = new WarmPool(provider, spec(n), 1, 1, logger('warm-pool'));
  const times: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      await pool.waitReady();
      const t0 = performance.now();
      const env = await pool.claim();
      times.push(performance.now() - t0);
      await provider.destroy(env);
    }
  } finally {
    await pool.drain();
  }
  record(`local ${provider.isolation}`, `pool ${n}`, summary(`${provider.isolation}: warm (pool claim), ${n} host${n > 1 ? 's' : ''}`, times));
}

await provider.prepareDockerSeed();
console.log(`image ${image}, ${RUNS} runs each, ${(await fs.readFile('/proc/cpuinfo', 'utf8')).match(/^processor/gm)?.length ?? '?'} CPUs`);
await provider.recover();
console.log(`load average before: ${await loadavg()}`);
for (const mode of PROVIDERS.includes('local') ? MODES : []) {
  provider = createLocalProvider({ ...config, hostIsolation: mode }, { imageRootfs: image, log: logger('local-provider') });
  const problem = await provider.isolationProblem(image);
  if (problem) {
    console.log(`${mode}: skipped, ${problem}`);
    continue;
  }
  for (const n of [1, 3]) await cold(n);
  if (!ONLY_COLD) for (const n of [1, 3]) await warm(n);
}

/** The LXD provider (its daemon on this machine, started if needed): the same figures plus LXD snapshots. */
async function lxdFigures(): Promise<void> {
  const lxd = createLxdProvider(config, { log: logger('lxd-provider') });
  const client = await lxd.client();
  await lxd.recover();
  for (const n of [1, 3]) {
    const times: number[] = [];
    const destroys: number[] = [];
    const snaps: number[] = [];
    const restores: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const env = await lxd.create(spec(n));
      times.push(performance.now() - t0);
      if (n === 3) {
        const t1 = performance.now();
        await lxd.snapshot(env, 'bench');
        snaps.push(performance.now() - t1);
        const t2 = performance.now();
        await lxd.restore(env, 'bench');
        restores.push(performance.now() - t2);
      }
      const t3 = performance.now();
      await lxd.destroy(env);
      destroys.push(performance.now() - t3);
      const left = await lxdLeftoversOf(client, config.dataDir, env.id);
      if (left.length) console.log(`LEAK after destroy of ${env.id}: ${left.join(', ')}`);
    }
    record('lxd', `cold ${n}`, summary(`lxd: cold, ${n} host${n > 1 ? 's' : ''}, etcd+docker`, times));
    summary(`lxd: destroy, ${n} host${n > 1 ? 's' : ''}`, destroys);
    if (snaps.length) record('lxd', 'snapshot 3', summary('lxd: snapshot, 3 hosts', snaps));
    if (restores.length) record('lxd', 'restore 3', summary('lxd: restore + ready, 3 hosts', restores));
  }
  for (const n of [1, 3]) {
    const pool = new WarmPool(lxd, spec(n), 1, 1, logger('warm-pool'));
    const times: number[] = [];
    try {
      for (let i = 0; i < RUNS; i++) {
        await pool.waitReady();
        const t0 = performance.now();
        const env = await pool.claim();
        times.push(performance.now() - t0);
        await lxd.destroy(env);
      }
    } finally {
      await pool.drain();
    }
    record('lxd', `pool ${n}`, summary(`lxd: warm (pool claim), ${n} host${n > 1 ? 's' : ''}`, times));
  }
  lxd.close();
}
if (PROVIDERS.includes('lxd')) await lxdFigures();

if (table.size > 1 || PROVIDERS.includes('lxd')) {
  const columns = [...table.keys()];
  const figures = [...new Set([...table.values()].flatMap((m) => [...m.keys()]))];
  const f = (x: number | undefined): string => (x === undefined ? '-' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);
  console.log(`\nmedians, side by side${' '.repeat(3)}${columns.map((c) => c.padStart(16)).join('')}`);
  for (const fig of figures) console.log(`${`${fig.replace(/ (\d)$/, ', $1 host(s)')}`.padEnd(25)}${columns.map((c) => f(table.get(c)?.get(fig)).padStart(16)).join('')}`);
}
console.log(`load average after: ${await loadavg()} (wall times above stretch with it)`);
