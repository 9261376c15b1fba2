// Snapshot and restore of a step on the local provider (3 hosts, etcd cluster + Docker): how long each takes,
// where a restore spends it (stop, put back, launch, SSH up, systemd up, ready), and what a snapshot costs on disk.
// Run as root: npx tsx bench/step-snapshot.ts [--runs N]. Prints figures; never passes or fails on time.
import fs from 'node:fs/promises';
import { createLocalProvider } from '../provisioning/local/local-provider.ts';
import { leftoversOf } from '../provisioning/local/leftovers.ts';
import type { ProvisionLogger } from '../provisioning/log.ts';
import { loadConfig } from '../server/config.ts';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error('usage: npx tsx bench/step-snapshot.ts [--runs N]');
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error('step-snapshot: run as root (the local provider creates bridges, mounts and cgroups)');
  process.exit(2);
}

/** Keeps the fields of the provider's last 'snapshot restored' line (its phase times). */
let lastRestore: Record<string, number> = {};
/** …and of its last 'snapshot taken' line (how long the hosts were frozen). */
let lastSnapshot: Record<string, number> = {};
const recorder: ProvisionLogger = {
  debug: () => undefined,
  info: (fields: object | string, msg?: string) => {
    if (typeof fields === 'object' && msg === 'snapshot restored') lastRestore = fields as Record<string, number>;
    if (typeof fields === 'object' && msg === 'snapshot taken') lastSnapshot = fields as Record<string, number>;
  },
  warn: () => undefined,
  error: () => undefined,
  child: () => recorder,
};
const config = loadConfig();
const provider = createLocalProvider(config, { log: recorder });
const loadavg = async (): Promise<string> => (await fs.readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
const f = (x: number): string => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);
function summary(label: string, ms: number[]): void {
  const s = [...ms].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  console.log(`${label.padEnd(40)} median ${f(median).padStart(8)}   min ${f(s[0]!).padStart(8)}   max ${f(s.at(-1)!).padStart(8)}   (n=${s.length})`);
}

console.log(`load average before: ${await loadavg()}`);
const env = await provider.create({ hosts: ['host0', 'host1', 'host2'], services: { etcd: 'cluster', docker: true }, owner: 'bench' });
try {
  const snaps: number[] = [];
  const frozen: number[] = [];
  const restores: number[] = [];
  const phases: Record<string, number[]> = { stoppedMs: [], copiedMs: [], launchedMs: [], sshUpMs: [], systemUpMs: [] };
  let bytes = 0;
  for (let i = 0; i < RUNS; i++) {
    // The previous restore's work afterwards (old layers deleted, spare copy made) is not this snapshot's cost.
    await provider.idle(env.id);
    const t0 = performance.now();
    bytes = (await provider.snapshot(env, 'step')).bytes ?? 0;
    snaps.push(performance.now() - t0);
    frozen.push(lastSnapshot.frozenMs ?? 0);
    // An attendee resets a while after the step opened: the spare copy made after the snapshot is there by then.
    await provider.idle(env.id);
    const t1 = performance.now();
    await provider.restore(env, 'step');
    restores.push(performance.now() - t1);
    for (const k of Object.keys(phases)) phases[k]!.push(lastRestore[k] ?? 0);
  }
  summary('snapshot, 3 hosts', snaps);
  summary('  of which the hosts were frozen', frozen);
  summary('restore to ready, 3 hosts', restores);
  for (const [k, v] of Object.entries(phases)) summary(`  restore: ${k.replace('Ms', '')} (from start)`, v);
  console.log(`snapshot size on the hosts' disks (the snapshot and its spare copy): ${(bytes / 2 ** 20).toFixed(1)} MiB for 3 hosts`);
} finally {
  await provider.idle(env.id);
  await provider.destroy(env);
  const left = await leftoversOf(config.dataDir, env.id);
  if (left.length) console.log(`LEAK after destroy of ${env.id}: ${left.join(', ')}`);
}
console.log(`load average after: ${await loadavg()} (wall times stretch with it)`);
