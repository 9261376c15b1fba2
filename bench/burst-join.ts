// A class joining at once: N attendees POST the join link of one workshop at the same moment, through the
// real server (composeServer, the local provider, the boot queue and warm pools as `labwright serve` runs
// them); each one's time-to-ready is from the burst until its lab page's socket says the hosts are ready.
// Prints first / median / last per burst, with the pool off and on, plus claim time and what a pool holds.
// The lab is labs/docker-basics (1 host, Docker): 40 attendees × 1 host fit this machine's RAM easily.
// BOOT_AHEAD=1: the workshop is created with "Boot hosts ahead for every seat"; the bench waits until the
// dashboard counts every seat's hosts booted (and prints how long that took and the memory they hold), then bursts.
// Run as root: npx tsx bench/burst-join.ts   (BURSTS=10,20,40 POOL_K=3 BOOT_AHEAD=1; prints, never fails on time)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createLocalProvider } from '../provisioning/local/local-provider.ts';
import { POOL_OWNER } from '../provisioning/pool-set.ts';
import { composeServer } from '../server/compose.ts';
import { loadConfig } from '../server/config.ts';
import { logger, setLogLevel } from '../server/log.ts';
import { TermClient } from '../server/testing/term-client.ts';
import { percentile } from './bench-kit.ts';
import { lateMs, loopDelayMonitor } from './loop-delay.ts';

const fmt = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');

const LAB = 'docker-basics';
const BURSTS = (process.env.BURSTS ?? '10,20,40').split(',').map(Number);
const K = Number(process.env.POOL_K ?? 3);
const BOOT_AHEAD = process.env.BOOT_AHEAD === '1';
const TOKEN = 'bench-instructor-credential-0123456789';
if (process.getuid?.() !== 0) {
  console.error('burst-join: run as root (the local provider creates bridges, mounts and cgroups)');
  process.exit(2);
}
setLogLevel('warn');

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Memory of every host of `envIds` (v1 memory cgroups, page cache included), in MiB. */
function memoryMiB(dataDir: string, envIds: string[]): number {
  let bytes = 0;
  for (const id of envIds) {
    const st = JSON.parse(readFileSync(path.join(dataDir, 'envs', id, 'state.json'), 'utf8')) as { hosts: { cgroups: string[] }[] };
    for (const h of st.hosts) {
      const mem = h.cgroups.find((c) => c.includes('/memory/'));
      if (mem) bytes += Number(readFileSync(path.join(mem, 'memory.usage_in_bytes'), 'utf8'));
    }
  }
  return bytes / 2 ** 20;
}

async function burst(poolK: number, n: number, bootAhead = false): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-burst-'));
  // STEP_SNAPSHOTS=0: without "Reset this step" snapshots (each attendee's hosts are snapshotted as their first step opens).
  const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN, ...(process.env.STEP_SNAPSHOTS === '0' ? { LABWRIGHT_STEP_SNAPSHOTS: '0' } : {}) }, { port: 0, dataDir: path.join(dir, 'data'), poolSize: poolK });
  const provider = createLocalProvider(config, { log: logger('local-provider') });
  const composed = await composeServer({ config, provider });
  const url = composed.server.url;
  const label = `${n} attendees, ${bootAhead ? 'booted ahead' : `pool ${poolK ? `K=${poolK}` : 'off'}`}`;
  try {
    const tCreate = performance.now();
    const w = composed.stack.service.create({ labId: LAB, capacity: n, minutes: 60, bootAhead });
    const token = w.joinPath.split('/').pop()!;
    let pooled: string[] = [];
    if (bootAhead) {
      // What the dashboard shows: "Hosts booted ahead: N of M".
      for (;;) {
        const st = composed.stack.service.snapshot(w.id).bootAhead;
        if (st && st.of === n && st.ready >= st.of) break;
        await sleep(250);
      }
      const took = performance.now() - tCreate;
      pooled = (await provider.list()).filter((e) => e.spec.owner === POOL_OWNER).map((e) => e.id);
      console.log(`${label}: ${pooled.length} environments booted ahead in ${fmt(took)} (load ${loadavg()}), their hosts hold ${memoryMiB(config.dataDir, pooled).toFixed(0)} MiB`);
    } else if (poolK > 0) {
      const want = Math.min(poolK, n);
      for (;;) {
        pooled = (await provider.list()).filter((e) => e.spec.owner === POOL_OWNER).map((e) => e.id);
        if (pooled.length >= want) break;
        await sleep(250);
      }
      console.log(`${label}: pool of ${pooled.length} ready, its hosts hold ${memoryMiB(config.dataDir, pooled).toFixed(0)} MiB`);
    }
    const load0 = loadavg();
    // The server runs in this process: how busy its thread was during the burst, and how long its event loop stalled.
    const loopDelay = loopDelayMonitor();
    loopDelay.enable();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const times = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const res = await fetch(`${url}api/join/${token}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: new URL(url).origin }, body: JSON.stringify({ name: `Attendee ${i}` }) });
        if (res.status !== 201) return { ok: false as const, why: `join ${res.status}` };
        const joinedAt = performance.now() - t0;
        const cookie = res.headers.get('set-cookie')?.split(';')[0] ?? '';
        const client = new TermClient({ url, cookie, labId: LAB });
        try {
          await client.welcome;
          const welcomedAt = performance.now() - t0;
          const m = await client.waitFor((x) => x.type === 'env-status' && (x.state === 'ready' || x.state === 'failed'), 900_000);
          if (m.type === 'env-status' && m.state === 'failed') return { ok: false as const, why: m.message ?? 'failed' };
          return { ok: true as const, ms: performance.now() - t0, joinedAt, welcomedAt };
        } finally {
          await client.close();
        }
      }),
    );
    const burstMs = performance.now() - t0;
    loopDelay.disable();
    const cpu = process.cpuUsage(cpu0);
    const ok = times.flatMap((t) => (t.ok ? [t.ms] : [])).sort((a, b) => a - b);
    const failed = times.filter((t) => !t.ok);
    console.log(
      `${label.padEnd(26)} ready ${ok.length}/${n}   first ${fmt(ok[0] ?? NaN)}   median ${fmt(percentile(ok, 50))}   last ${fmt(ok.at(-1) ?? NaN)}   load ${load0} → ${loadavg()}`,
    );
    // Where the time goes: the join answered (HTTP, SQLite), the page's socket welcomed (hello), then the hosts ready.
    const phase = (pick: (t: { joinedAt: number; welcomedAt: number }) => number): string => {
      const v = times.flatMap((t) => (t.ok ? [pick(t)] : [])).sort((a, b) => a - b);
      return `${fmt(v[0] ?? NaN)} / ${fmt(percentile(v, 50))} / ${fmt(v.at(-1) ?? NaN)}`;
    };
    console.log(`  first / median / last: join answered ${phase((t) => t.joinedAt)}; socket welcomed ${phase((t) => t.welcomedAt)}`);
    console.log(
      `  server process: ${((cpu.user + cpu.system) / 1000 / burstMs).toFixed(2)} CPU-seconds per second over the ${fmt(burstMs)} burst; event loop delay p99 ${lateMs(loopDelay.percentile(99)).toFixed(0)} ms, max ${lateMs(loopDelay.max).toFixed(0)} ms`,
    );
    for (const f of failed.slice(0, 3)) if (!f.ok) console.log(`  failed: ${f.why}`);
    await composed.stack.service.end(w.id);
  } finally {
    await composed.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`lab ${LAB}; ${os.availableParallelism()} CPUs; boot concurrency ${loadConfig({}).bootConcurrency}; step snapshots ${process.env.STEP_SNAPSHOTS === '0' ? 'off' : 'on'}; load ${loadavg()}`);
for (const n of BURSTS) {
  if (BOOT_AHEAD) {
    await burst(K, n, true);
    continue;
  }
  await burst(0, n);
  await burst(K, n);
}
