// Time until lab hosts are ready (SSH answers, systemd running, etcd healthy, Docker with busybox), cold
// (image cached, no pool) and warm (claimed from a pool), for 1 and 3 hosts; plus what a host costs in memory.
// Run as root: npx tsx bench/time-to-ready.ts [--runs N] [--image <rootfs dir>] [--isolation userns,privileged].
// --isolation runs the whole set once per host isolation mode (default: both), to compare them in one run.
// Prints figures; never passes or fails on time.
import fs from 'node:fs/promises';
import path from 'node:path';
import { ensureImage } from '../provisioning/image/build-image.ts';
import { createLocalProvider } from '../provisioning/local/local-provider.ts';
import { leftoversOf } from '../provisioning/local/leftovers.ts';
import { readState } from '../provisioning/local/state.ts';
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
if (!Number.isInteger(RUNS) || RUNS < 1 || MODES.some((m) => m !== 'userns' && m !== 'privileged')) {
  console.error('usage: npx tsx bench/time-to-ready.ts [--runs N] [--image <rootfs dir>] [--isolation userns,privileged]');
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

function summary(label: string, ms: number[]): void {
  const s = [...ms].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  const f = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);
  console.log(`${label.padEnd(34)} median ${f(median).padStart(9)}   min ${f(s[0]!).padStart(9)}   max ${f(s.at(-1)!).padStart(9)}   (n=${s.length})`);
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

const loadavg = async (): Promise<string> => (await fs.readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');

async function cold(n: number): Promise<void> {
  const times: number[] = [];
  const destroys: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const env = await provider.create(spec(n));
    times.push(performance.now() - t0);
    if (i === 0 && n === 3) {
      const cost = await costPerHost(env.id);
      const mb = (b: number): string => `${(b / 1048576).toFixed(0)} MiB`;
      for (const [k, m] of cost.entries()) {
        console.log(`host${k} (etcd+docker, just ready): memory cgroup usage ${mb(m.usage)}, rss ${mb(m.rss)}; CPU used to boot ${m.cpuMs.toFixed(0)} ms`);
      }
    }
    const t1 = performance.now();
    await provider.destroy(env);
    destroys.push(performance.now() - t1);
    const left = await leftoversOf(config.dataDir, env.id);
    if (left.length) console.log(`LEAK after destroy of ${env.id}: ${left.join(', ')}`);
  }
  summary(`${provider.isolation}: cold, ${n} host${n > 1 ? 's' : ''}, etcd+docker`, times);
  summary(`${provider.isolation}: destroy, ${n} host${n > 1 ? 's' : ''}`, destroys);
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
  summary(`${provider.isolation}: warm (pool claim), ${n} host${n > 1 ? 's' : ''}`, times);
}

await provider.prepareDockerSeed();
console.log(`image ${image}, ${RUNS} runs each, ${(await fs.readFile('/proc/cpuinfo', 'utf8')).match(/^processor/gm)?.length ?? '?'} CPUs`);
await provider.recover();
console.log(`load average before: ${await loadavg()}`);
for (const mode of MODES) {
  provider = createLocalProvider({ ...config, hostIsolation: mode }, { imageRootfs: image, log: logger('local-provider') });
  const problem = await provider.isolationProblem(image);
  if (problem) {
    console.log(`${mode}: skipped, ${problem}`);
    continue;
  }
  for (const n of [1, 3]) await cold(n);
  for (const n of [1, 3]) await warm(n);
}
console.log(`load average after: ${await loadavg()} (wall times above stretch with it)`);
