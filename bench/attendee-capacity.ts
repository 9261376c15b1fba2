// Workshop capacity of one server process: memory and CPU per connected attendee (two terminals
// open and typing, checks auto-running on the open step, an instructor dashboard watching), and
// how many attendees it holds with keystroke p99 ≤ 20 ms. The server runs pinned to one CPU; the
// lab hosts and the load generators to the other, so the figure is the server's, not the hosts'.
// Simulated attendees share two real hosts (bench-server.ts hands the one environment to every
// session). To find the server's own limit the hosts are kept cheap: by default each terminal's SSH
// channel runs `cat` under sshd's pty without the session keeper (BENCH_TERMINAL=pty: a key costs the
// host sshd and its tty's echo only; the server's side of the channel is the same SSH channel carrying
// the same bytes), BENCH_TERMINAL=cat attaches each terminal to a keeper session of its own whose shell
// becomes `cat` (the keeper's hops on the host too), BENCH_TERMINAL=shell keeps the login shell; and
// the lab's check costs the host a refused connect (see LAB). Per level it prints keystroke p50/p99 and what each core was doing, and the server's own
// timings of the typing phase (bench-server.ts PhaseTimings), so a p99 can be told apart as the
// server's or the hosts'. Prints figures; never fails.
// Run as root: npx tsx bench/attendee-capacity.ts
//   BENCH_LEVELS=100,200,300,400,500,600 BENCH_KEYS=30 BENCH_GAP_MS=300 BENCH_SERVER_CPUS=0 BENCH_LOAD_CPUS=1 BENCH_GEN_CPUS=(BENCH_LOAD_CPUS) BENCH_TERMINAL=pty|cat|shell BENCH_LOAD_PROCESSES=1 (more spread the simulated attendees over that many processes: on a machine with cores to spare)
//   BENCH_LOAD_REALTIME=1 (the load generators run SCHED_RR on their CPU: their own waits behind the hosts' processes stop counting as latency; the hosts then wait behind them)
//   BENCH_AUTO_CHECK_CONCURRENCY=16 (the server's LABWRIGHT_AUTO_CHECK_CONCURRENCY)  BENCH_NICE=-10 (priority of server, hosts and load generator; '' to leave it)  BENCH_PROFILE_DIR=/tmp/prof  (a V8 CPU profile of the server per level, while everyone types)
//   BENCH_NODE_ARGS='--max-semi-space-size=2' (node options for the server process)
import type { ChildProcess } from 'node:child_process';
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { MAX_CAPACITY } from '../common/http-api.ts';
import { PROTOCOL_VERSION } from '../common/protocol.ts';
import type { LoadCommand, LoadReply } from './attendee-load.ts';
import type { Child } from './bench-kit.ts';
import { busyPercent, cpuTimes, createBenchEnv, fmt, hostCpuSeconds, hostPids, isolateHosts, percentile, pinHosts, pinToCpus, renice, startLabwright } from './bench-kit.ts';

const TOKEN = 'bench-instructor-credential-0123456789';
const HOSTS = ['host0', 'host1'];
// The step's check fails every time, so every attendee's page keeps re-checking at the server's
// cadence. An http check from the server to a port where nothing listens: the full round trip of
// a check through the host's SSH connection (a direct-tcpip channel the host refuses), while the
// host's side is a refused connect in sshd, not the warm shell's processes a file check forks.
const LAB = `---
title: Capacity
summary: One step whose check never passes, so every attendee's page keeps re-checking.
hosts: [host0, host1]
---
## Never done

\`\`\`check
http: { url: "http://host0:9/", status: 200 }
\`\`\`

\`\`\`solve host0
true
\`\`\`
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime and stime are fields 14 and 15 of stat, i.e. 12 and 13 after "pid (comm) ".
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const statusKiB = (pid: number, field: 'VmRSS' | 'VmHWM'): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
/** Peak resident memory: unlike the current RSS it does not drop when the GC happens to run. */
const peakMiB = (pid: number): number => statusKiB(pid, 'VmHWM') / 1024;

async function api(url: string, p: string, body: unknown, cookie?: string): Promise<Response> {
  return fetch(`${url}api/${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(cookie ? { Cookie: cookie } : {}) }, body: JSON.stringify(body) });
}
const cookieOf = (r: Response): string => r.headers.get('set-cookie')?.split(';')[0] ?? '';

/** A load generator process (attendee-load.ts) and the replies it has not yet been asked for. */
class LoadDriver {
  readonly proc: ChildProcess;
  readonly #waiting: ((r: LoadReply) => void)[] = [];
  constructor(cpus: string | undefined, realtime: boolean) {
    this.proc = fork(path.join(import.meta.dirname, 'attendee-load.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    if (cpus && this.proc.pid) pinToCpus(this.proc.pid, cpus);
    if (realtime && this.proc.pid) execFileSync('chrt', ['-a', '-r', '-p', '10', String(this.proc.pid)], { stdio: 'ignore' });
    this.proc.on('message', (r: LoadReply) => this.#waiting.shift()?.(r));
    this.proc.once('exit', (code) => {
      for (const w of this.#waiting.splice(0)) w({ type: 'failed', error: `load generator exited with ${code}` });
    });
  }
  async ask<T extends LoadReply['type']>(c: LoadCommand, want: T): Promise<Extract<LoadReply, { type: T }>> {
    const r = await new Promise<LoadReply>((resolve) => {
      this.#waiting.push(resolve);
      this.proc.send(c);
    });
    if (r.type === 'failed') throw new Error(r.error);
    if (r.type !== want) throw new Error(`load generator answered ${r.type}, not ${want}`);
    return r as Extract<LoadReply, { type: T }>;
  }
}

/**
 * Each keystroke's time less the host's part of it: the load generator's echo time of key k on a terminal
 * minus the server's own timing of that key from its SSH write to the echo (PhaseTimings.keyHostMs), paired
 * in the order typed. What remains is the server's part (the WebSocket both ways, its event loop, its
 * output batching) and the load generator's. Terminals whose counts differ are left out and counted.
 */
function serverParts(keystrokes: Record<string, number[]>, host: Record<string, number[]>): { parts: number[]; unpaired: number } {
  const parts: number[] = [];
  let unpaired = 0;
  for (const [tag, typed] of Object.entries(keystrokes)) {
    const echoed = host[tag];
    if (echoed?.length !== typed.length) {
      unpaired++;
      continue;
    }
    typed.forEach((t, k) => parts.push(Math.max(0, t - (echoed[k] ?? 0))));
  }
  return { parts: parts.sort((a, b) => a - b), unpaired };
}

const load = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const levels = (process.env.BENCH_LEVELS ?? '100,200,300,400,500,600').split(',').map(Number);
  const keys = Number(process.env.BENCH_KEYS ?? 30);
  const gapMs = Number(process.env.BENCH_GAP_MS ?? 300);
  const serverCpus = process.env.BENCH_SERVER_CPUS ?? '0';
  const loadCpus = process.env.BENCH_LOAD_CPUS ?? '1';
  // The load generators' CPUs (default: with the hosts). BENCH_GEN_CPUS=0 puts them on the server's core:
  // a harder test for the server (it shares its core), and the hosts' core carries only the hosts.
  const genCpus = process.env.BENCH_GEN_CPUS ?? loadCpus;
  const profileDir = process.env.BENCH_PROFILE_DIR;
  const terminal = process.env.BENCH_TERMINAL ?? 'pty';
  if (!['pty', 'cat', 'shell'].includes(terminal)) throw new Error(`BENCH_TERMINAL is pty, cat or shell, not ${JSON.stringify(terminal)}`);
  const loadProcesses = Math.max(1, Number(process.env.BENCH_LOAD_PROCESSES ?? 1));
  // Server, hosts and load generator ahead of other jobs on a shared machine ('' leaves it alone).
  const nice = process.env.BENCH_NICE === '' ? undefined : Number(process.env.BENCH_NICE ?? -10);
  const pin = os.availableParallelism() > 1 && serverCpus !== '';
  // This process, the load generators it forks and the hosts it boots (children inherit the mask) stay off the server's CPU.
  if (pin) pinToCpus(process.pid, loadCpus);
  if (nice !== undefined) renice(process.pid, nice);
  // Hundreds of shells per host: more memory than a lab host's default.
  const bench = await createBenchEnv(HOSTS, { LABWRIGHT_HOST_MEMORY_MB: '8192' });
  // The simulated attendees, spread over several load generator processes (BENCH_LOAD_PROCESSES).
  const drivers = Array.from({ length: loadProcesses }, () => new LoadDriver(pin ? genCpus : undefined, process.env.BENCH_LOAD_REALTIME === '1'));
  let joined = 0;
  let dashboard: WebSocket | undefined;
  let server: Child | undefined;
  let unisolate = (): void => undefined;
  try {
    if (pin) pinHosts(bench.env.id, loadCpus, nice);
    // Their own CPU weight too: every lab host of the machine shares one parent cgroup.
    if (pin && nice !== undefined) unisolate = isolateHosts(bench.env.id, loadCpus);
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    // The server composed as serve does, in its own process; every attendee gets the bench's hosts.
    server = await startLabwright(bench.env, {
      lab: { id: 'capacity', source: LAB },
      instructorToken: TOKEN,
      ...(pin ? { cpus: serverCpus } : {}),
      ...(nice !== undefined ? { nice } : {}),
      ...(profileDir ? { profileDir } : {}),
      bareTerminals: terminal === 'pty',
      ...(process.env.BENCH_NODE_ARGS ? { nodeArgs: process.env.BENCH_NODE_ARGS.split(' ') } : {}),
      config: { LABWRIGHT_JOINS_PER_MINUTE: '100000', ...(process.env.BENCH_AUTO_CHECK_CONCURRENCY ? { LABWRIGHT_AUTO_CHECK_CONCURRENCY: process.env.BENCH_AUTO_CHECK_CONCURRENCY } : {}) },
    });
    const { url } = server;
    const proc = server.proc;
    const checkRuns = server.autoChecksStarted ?? (() => NaN);
    const pid = proc.pid ?? 0;
    const instructor = cookieOf(await api(url, 'instructor/login', { token: TOKEN }));
    // A workshop seats at most MAX_CAPACITY: larger levels fill several, one after the other.
    const workshops: { id: string; token: string }[] = [];
    for (let seats = 0; seats < Math.max(...levels); seats += MAX_CAPACITY) {
      const made = (await (await api(url, 'workshops', { labId: 'capacity', capacity: MAX_CAPACITY, minutes: 600 }, instructor)).json()) as { id: string; joinPath: string };
      workshops.push({ id: made.id, token: made.joinPath.split('/').pop() ?? '' });
    }
    const w = workshops[0] ?? { id: '', token: '' };
    const tokenOf = (i: number): string => workshops[Math.floor(i / MAX_CAPACITY)]?.token ?? '';
    // The instructor's dashboard watches the whole time (pushed snapshots are part of the load).
    const dashUrl = new URL('dashboard-ws', url);
    dashUrl.protocol = 'ws:';
    dashboard = new WebSocket(dashUrl, { headers: { cookie: instructor, origin: new URL(url).origin } });
    const dash = dashboard;
    let snapshots = 0;
    dash.on('open', () => dash.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, labId: 'capacity' })));
    dash.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { type: string };
      if (m.type === 'welcome') dash.send(JSON.stringify({ type: 'dashboard-watch', workshopId: w.id }));
      if (m.type === 'dashboard') snapshots++;
    });
    await sleep(2000);
    const baseRss = peakMiB(pid);
    const envId = bench.env.id;
    const stray = pin ? hostPids(envId).filter((p) => !/^1$|^0x2$/.test(readFileSync(`/proc/${p}/status`, 'utf8').match(/Cpus_allowed_list:\s+(\S+)/)?.[1] ?? '')).length : 0;
    console.log(`attendee capacity: ${HOSTS.length} terminals per attendee, both typing ${{ pty: 'into cat under sshd\'s pty, no session keeper (BENCH_TERMINAL=pty)', cat: 'into cat in a keeper session each (BENCH_TERMINAL=cat)', shell: 'into the login shell (BENCH_TERMINAL=shell)' }[terminal]}, on shared hosts (${HOSTS.join(', ')}), checks auto-running, one dashboard watching the first workshop (${MAX_CAPACITY} seats each)`);
    console.log(
      pin
        ? `server pinned to CPU ${serverCpus}; hosts (${hostPids(envId).length} processes${stray ? `, ${stray} not pinned!` : ''}) to CPU ${loadCpus}, ${drivers.length} load generator process(es) to CPU ${genCpus}`
        : 'one CPU: server, hosts and load generator share it (the figure mixes them)',
    );
    if (nice !== undefined) console.log(`server, hosts and load generator at nice ${nice} (BENCH_NICE), ahead of other jobs on this machine`);
    console.log(`typing: ${keys} keys per terminal, a key every ~${gapMs} ms each; server baseline peak RSS ${fmt(baseRss, 1)} MiB; load average ${load()}`);
    console.log('attendees  peak MiB  MiB/attendee  CPU% idle  CPU% typing  µs CPU/key  per core (CPU)  host CPU% typing  load-gen CPU%  checks/s  keys/s  p50 ms  p99 ms  server core busy%  hosts core busy%  host rtt p50/p99 ms  server part p50/p99 ms  server loop delay p99/max ms  server GC n/total/max ms (kind)  load-gen loop delay p99/max ms  load average');
    console.log('  (host rtt: the server writing a key to SSH until its echo comes back, as the server sees it; server part: each keystroke less its own host rtt, paired key by key — the WebSocket both ways, the server\'s loop and batching, and the load generator; loop delay: how long anything arriving waited for the server\'s event loop, or for this load generator\'s; GC: the server\'s garbage-collection pauses while everyone typed)');
    let capacity = 0;
    let serverCapacity = 0;
    let unpairedTerminals = 0;
    let limit: string | undefined;
    let perCore: { level: number; attendees: number; p99: number } | undefined;
    for (const level of levels) {
      // Joined ten at a time (a class arriving), each with both terminals connected.
      while (joined < level) {
        const batch = Math.min(10, level - joined);
        const base = joined;
        // Attendee i belongs to load generator i mod n.
        await Promise.all(
          drivers.map((d, k) => {
            const joins = Array.from({ length: batch }, (_, j) => base + j).filter((i) => i % drivers.length === k).map((i) => ({ token: tokenOf(i), i }));
            return joins.length ? d.ask({ type: 'join', url, labId: 'capacity', hosts: HOSTS, execCat: terminal === 'cat', joins }, 'joined') : Promise.resolve();
          }),
        );
        joined += batch;
      }
      await sleep(3000);
      // Connected, terminals open, checks re-running: the steady cost of the attendees.
      const c0 = cpuSeconds(pid);
      const t0 = performance.now();
      await sleep(10_000);
      const idleCpu = ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
      const rss = peakMiB(pid);
      const samples: number[] = [];
      const endPhase = server.startPhase?.();
      const cores1 = cpuTimes();
      const c1 = cpuSeconds(pid);
      const h1 = hostCpuSeconds(envId);
      const k1 = checkRuns();
      const t1 = performance.now();
      const typed = await Promise.all(drivers.map((d) => d.ask({ type: 'type', keys, gapMs }, 'typed')));
      const keystrokes = Object.fromEntries(typed.flatMap((t) => Object.entries(t.samples)));
      for (const t of Object.values(keystrokes)) samples.push(...t);
      const secs = (performance.now() - t1) / 1000;
      // The load generators' own event loops (the worst of them): a keystroke whose echo waited there is not the server's delay.
      const genLoopP99 = Math.max(...typed.map((t) => t.loopDelayP99Ms));
      const genLoopMax = Math.max(...typed.map((t) => t.loopDelayMaxMs));
      const typingCpu = ((cpuSeconds(pid) - c1) / secs) * 100;
      const hostCpu = ((hostCpuSeconds(envId) - h1) / secs) * 100;
      const genCpu = (typed.reduce((a, t) => a + t.cpuSeconds, 0) / secs) * 100;
      const checksPerSec = (checkRuns() - k1) / secs;
      const cores2 = cpuTimes();
      const inServer = await endPhase?.();
      const serverCore = busyPercent(cores1, cores2, serverCpus);
      const hostsCore = busyPercent(cores1, cores2, loadCpus);
      const s = samples.sort((a, b) => a - b);
      const p50 = percentile(s, 50);
      const p99 = percentile(s, 99);
      const own = serverParts(keystrokes, inServer?.keyHostMs ?? {});
      unpairedTerminals += own.unpaired;
      const ownP99 = own.parts.length ? percentile(own.parts, 99) : NaN;
      if (ownP99 <= 20) serverCapacity = level;
      // One full core over what an attendee costs the server: their share of the steady cost (checks,
      // dashboard, heartbeats) plus CPU per key at the full typing rate (a key every gapMs on each
      // terminal, whatever rate the echo latency let the typists reach here).
      const usPerKey = ((typingCpu - idleCpu) * 10_000) / (s.length / secs);
      const coreFits = 100 / (idleCpu / level + (HOSTS.length * (1000 / gapMs) * usPerKey) / 10_000);
      perCore = { level, attendees: coreFits, p99 };
      console.log(
        `${String(level).padStart(9)}  ${fmt(rss, 1).padStart(8)}  ${fmt((rss - baseRss) / level, 2).padStart(12)}  ${fmt(idleCpu, 1).padStart(9)}  ${fmt(typingCpu, 1).padStart(11)}  ${fmt(usPerKey, 0).padStart(10)}  ${fmt(coreFits, 0).padStart(14)}  ${fmt(hostCpu, 1).padStart(16)}  ${fmt(genCpu, 1).padStart(13)}  ${fmt(checksPerSec, 1).padStart(8)}  ${fmt(s.length / secs, 0).padStart(6)}  ${fmt(p50).padStart(6)}  ${fmt(p99).padStart(6)}  ${fmt(serverCore, 0).padStart(17)}  ${fmt(hostsCore, 0).padStart(16)}  ${`${fmt(inServer?.hostRoundTripP50 ?? NaN)}/${fmt(inServer?.hostRoundTripP99 ?? NaN)}`.padStart(19)}  ${`${own.parts.length ? fmt(percentile(own.parts, 50)) : '-'}/${fmt(ownP99)}`.padStart(22)}  ${`${fmt(inServer?.eventLoopDelayP99 ?? NaN)}/${fmt(inServer?.eventLoopDelayMax ?? NaN)}`.padStart(27)}  ${`${inServer?.gcCount ?? NaN}/${inServer?.gcTotalMs ?? NaN}/${fmt(inServer?.gcMaxMs ?? NaN)} (${inServer?.gcMaxKind ?? '?'})`.padStart(32)}  ${`${fmt(genLoopP99)}/${fmt(genLoopMax)}`.padStart(30)}  ${load()}`,
      );
      if (p99 <= 20) capacity = level;
      else if (limit === undefined) {
        // Which side held p99 back at the first level past 20 ms: a core that was (nearly) full, the
        // busier one if both were; neither full means stalls, not a lack of CPU (say whose timings show them).
        const FULL = 85;
        const side =
          serverCore >= FULL || hostsCore >= FULL
            ? serverCore >= hostsCore
              ? 'the server\'s core (full)'
              : 'the hosts\' core (hosts + load generator, full)'
            : `neither core was full: stalls, ${(inServer?.eventLoopDelayP99 ?? 0) >= 20 ? 'in the server\'s event loop' : (inServer?.hostRoundTripP99 ?? 0) >= 20 ? 'between the server\'s SSH write and the echo (hosts, or the server\'s loop)' : genLoopP99 >= 10 ? `in the load generators' event loops (the worst one's loop delay p99 ${fmt(genLoopP99)} ms)` : 'mostly outside the server\'s timings (load generator or hosts)'}`;
        limit = `${side} at ${level} attendees (server core ${fmt(serverCore, 0)}% busy, hosts core ${fmt(hostsCore, 0)}% busy; host rtt p99 ${fmt(inServer?.hostRoundTripP99 ?? NaN)} ms, server loop delay p99 ${fmt(inServer?.eventLoopDelayP99 ?? NaN)} ms, keystroke p99 ${fmt(p99)} ms)`;
      }
      // Far past the goal (the server's own part, when it could be paired): more attendees only take longer to say the same.
      if ((Number.isNaN(ownP99) ? p99 : ownP99) > 100) break;
    }
    console.log(`dashboard snapshots pushed: ${snapshots}`);
    console.log(`largest measured level with keystroke p99 <= 20 ms: ${capacity} attendees (${capacity * HOSTS.length} terminals)`);
    if (pin) console.log(`attendees per server core at p99 <= 20 ms: ${capacity} (goal >= 300)`);
    console.log(
      `largest measured level with the server's part of the keystroke p99 <= 20 ms (host echo taken off key by key): ${serverCapacity} attendees` +
        (unpairedTerminals ? `; ${unpairedTerminals} terminal(s) over all levels left out, their key counts did not pair` : ''),
    );
    console.log(limit ? `limit: ${limit}` : `limit: not reached (p99 <= 20 ms at every level measured; try higher BENCH_LEVELS)`);
    if (perCore) {
      console.log(
        `server CPU measured at ${perCore.level} attendees (p99 ${fmt(perCore.p99)} ms), each typing ${fmt((HOSTS.length * 1000) / gapMs, 1)} keys/s: one server core carries ${fmt(perCore.attendees, 0)} attendees ` +
          '(CPU only: where the hosts or the load generator set p99, the measured level stops short of the server\'s own limit)',
      );
    }
    if (profileDir) console.log(`CPU profiles of the typing phases: ${profileDir}/server-<level index>.cpuprofile (npx tsx bench/cpu-profile-top.ts FILE)`);
  } finally {
    dashboard?.close();
    await Promise.all(drivers.map((d) => d.ask({ type: 'close' }, 'closed').catch(() => d.proc.kill())));
    await server?.stop();
    await bench.destroy();
    unisolate();
  }
}

await main();
process.exit(0);
