// Shared bench plumbing: a real environment, the Labwright server and WeTTY as child processes
// pointed at the same hosts, their peak memory, and simple statistics.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import type { LabServices } from '../common/lab.ts';
import type { Environment } from '../provisioning/provider.ts';
import type { PhaseTimings } from './bench-server.ts';
import { createLocalProvider } from '../provisioning/local/local-provider.ts';
import { loadConfig } from '../server/config.ts';
import { logger, setLogLevel } from '../server/log.ts';
import { SshPool } from '../server/ssh/ssh-pool.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

/**
 * What a load generator types into a terminal before its keys (`# lw-bench-tag <tag>`), so that
 * bench-server.ts can say whose terminal its timings are (PhaseTimings.keyHostMs).
 */
export const BENCH_TAG = 'lw-bench-tag';

export interface BenchEnv {
  env: Environment;
  ssh: SshPool;
  destroy(): Promise<void>;
}

/** `config`: LABWRIGHT_* settings for the hosts (e.g. a larger LABWRIGHT_HOST_MEMORY_MB for hundreds of shells). */
export async function createBenchEnv(hosts: string[], config: Record<string, string> = {}, services: LabServices = { etcd: 'none', docker: false }): Promise<BenchEnv> {
  setLogLevel('warn');
  const provider = createLocalProvider(loadConfig(config), { log: logger('local-provider') });
  const env = await provider.create({ hosts, services, owner: 'bench' });
  const ssh = new SshPool();
  return {
    env,
    ssh,
    async destroy() {
      ssh.closeAll();
      await provider.destroy(env);
    },
  };
}

export interface Child {
  proc: ChildProcess;
  url: string;
  /** Peak resident memory (VmHWM) in MiB since start or the last resetPeak(). */
  peakRssMiB(): number;
  resetPeak(): void;
  stop(): Promise<void>;
  /** Labwright only: automatic check runs the server started so far (reported twice a second). */
  autoChecksStarted?: () => number;
  /** Labwright only: starts a phase (SIGUSR2, see bench-server.ts); the function returned ends it with the server's own timings of it. */
  startPhase?: () => () => Promise<PhaseTimings>;
}

function childOf(proc: ChildProcess, url: string): Child {
  const pid = proc.pid ?? 0;
  return {
    proc,
    url,
    peakRssMiB() {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : NaN;
    },
    resetPeak() {
      // "5" resets the peak resident set size (see proc(5), clear_refs).
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    },
    stop() {
      if (proc.exitCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 10_000).unref();
      });
    },
  };
}

/** The lab the terminal benches open: the environment's hosts, nothing to check. */
function benchLab(env: Environment): string {
  return `---\ntitle: bench\nsummary: The hosts a benchmark made, nothing to check.\nhosts: [${env.hosts.map((h) => h.name).join(', ')}]\nservices: { etcd: none, docker: false }\n---\n## Type\n\nType in the terminals.\n`;
}

export interface LabwrightOptions {
  /** The one lab served (default: id "bench", the environment's hosts, no checks). */
  lab?: { id: string; source: string };
  instructorToken?: string;
  /** Run the server on these CPUs only (taskset list, e.g. "0"), so hosts and load generator stay off its core. */
  cpus?: string;
  /** Nice value of the server (see renice). */
  nice?: number;
  /** Extra node flags for the server (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** LABWRIGHT_* settings for the server (loadConfig's input). */
  config?: Record<string, string>;
  /** A folder for CPU profiles: SIGUSR2 to the server starts one, the next writes it (bench-server.ts). */
  profileDir?: string;
  /**
   * Every terminal channel runs `cat` straight under sshd's pty instead of attaching to the session keeper:
   * a key costs the host only sshd and its tty's echo. The server's side of a channel is unchanged (same
   * SSH channel, same bytes); attendee-capacity uses it to keep the hosts' core from setting the figure.
   */
  bareTerminals?: boolean;
}

/**
 * Raises (negative) or lowers the priority of every thread of `pid`; children it starts later
 * inherit it. The benches raise theirs so that on a machine shared with other jobs the figures are
 * about the measured processes, not about waiting behind everyone else for a CPU.
 */
export function renice(pid: number, nice: number): void {
  for (const tid of readdirSync(`/proc/${pid}/task`)) execFileSync('renice', ['-n', String(nice), '-p', tid], { stdio: 'ignore' });
}

/** Pins every thread of `pid` to `cpus` (a taskset list); children it starts later inherit it. */
export function pinToCpus(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** The processes of the lab hosts of environment `envId` (their cgroups under the labwright parent, named <envId>-<n>). */
export function hostPids(envId: string): number[] {
  const own = /(?:^|\n)\d+:pids:([^\n]*)/.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/';
  const found: number[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
    try {
      for (const l of readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (l) found.push(Number(l));
    } catch {
      // gone meanwhile
    }
  };
  const parent = path.join('/sys/fs/cgroup/pids', own, 'labwright');
  let machines: string[] = [];
  try {
    machines = readdirSync(parent).filter((d) => d.startsWith(`${envId}-`));
  } catch {
    // no hosts
  }
  for (const m of machines) walk(path.join(parent, m));
  return found;
}

/** Pins every process of environment `envId`'s hosts (never another's) to `cpus`; returns how many. New ones inherit it. */
export function pinHosts(envId: string, cpus: string, nice?: number): number {
  let n = 0;
  for (const pid of hostPids(envId)) {
    try {
      pinToCpus(pid, cpus);
      if (nice !== undefined) renice(pid, nice);
      n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

/** bench-server.ts in its own process, serving `env`'s hosts; its labs and data folder go when it stops. */
export async function startLabwright(env: Environment, opts: LabwrightOptions = {}): Promise<Child> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'labwright-bench-'));
  const lab = opts.lab ?? { id: 'bench', source: benchLab(env) };
  mkdirSync(path.join(work, 'labs', lab.id), { recursive: true });
  writeFileSync(path.join(work, 'labs', lab.id, 'lab.md'), lab.source);
  const file = path.join(work, 'env.json');
  writeFileSync(file, JSON.stringify({ env, config: opts.config ?? {}, ...(opts.profileDir ? { profileDir: opts.profileDir } : {}), bareTerminals: opts.bareTerminals === true }), { mode: 0o600 });
  const args = [path.join(work, 'labs'), path.join(work, 'data'), ...(opts.instructorToken ? [opts.instructorToken] : [])];
  const node = [process.execPath, ...(opts.nodeArgs ?? []), '--import', 'tsx', path.join(ROOT, 'bench', 'bench-server.ts'), file, ...args];
  // taskset execs node in place: the child's pid is the server's.
  const pinned = opts.cpus ? ['taskset', '-c', opts.cpus, ...node] : node;
  const [cmd = '', ...argv] = opts.nice !== undefined ? ['nice', '-n', String(opts.nice), ...pinned] : pinned;
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
  proc.once('exit', () => rmSync(work, { recursive: true, force: true }));
  let checks = 0;
  const phases: ((t: PhaseTimings) => void)[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /READY (\S+)/.exec(buf);
      if (m?.[1]) resolve(m[1]);
      const c = [...buf.matchAll(/CHECKS (\d+)\n/g)].at(-1);
      if (c?.[1]) checks = Number(c[1]);
      for (const p of buf.matchAll(/PHASE (\{.*\})\n/g)) phases.shift()?.(JSON.parse(p[1] ?? '{}') as PhaseTimings);
      buf = buf.slice(Math.max(0, buf.lastIndexOf('\n') + 1));
    });
    proc.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const startPhase = (): (() => Promise<PhaseTimings>) => {
    proc.kill('SIGUSR2');
    return () => {
      const ended = new Promise<PhaseTimings>((resolve) => phases.push(resolve));
      proc.kill('SIGUSR2');
      return ended;
    };
  };
  return { ...childOf(proc, url), autoChecksStarted: () => checks, startPhase };
}

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });

/** WeTTY connected to `host` of the environment over SSH with the environment's key. */
export async function startWetty(env: Environment, host: string): Promise<Child> {
  const info = env.hosts.find((h) => h.name === host);
  if (!info) throw new Error(`no ${host}`);
  const port = await freePort();
  const args = [
    path.join(ROOT, 'node_modules', 'wetty', 'build', 'main.js'),
    '--host', '127.0.0.1', '--port', String(port), '--base', '/wetty/',
    '--ssh-host', info.address, '--ssh-user', info.user, '--ssh-port', String(info.port),
    '--ssh-key', env.privateKeyPath, '--ssh-auth', 'publickey', '--known-hosts', '/dev/null', '--force-ssh',
    '--log-level', 'error',
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT });
  const url = `http://127.0.0.1:${port}/wetty/`;
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`WeTTY exited with ${proc.exitCode}`);
    const up = await fetch(url).then(() => true, () => false);
    if (up) return childOf(proc, url);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('WeTTY did not start');
}

/** One WeTTY terminal over socket.io, speaking WeTTY's own events (input / data / commit). */
export class WettyTerm {
  readonly socket: Socket;
  received = 0;
  text = '';
  keepText = true;
  #listeners = new Set<(d: string) => void>();
  readonly ready: Promise<void>;

  constructor(url: string) {
    const u = new URL(url);
    this.socket = io(u.origin, { path: `${u.pathname}socket.io`, transports: ['websocket'], forceNew: true });
    this.ready = new Promise((resolve) => this.socket.once('login', () => resolve()));
    this.socket.on('data', (d: string) => {
      this.received += d.length;
      if (this.keepText) this.text += d;
      // Acknowledge like WeTTY's own page does, so its flow control never stalls us.
      this.socket.emit('commit', d.length);
      for (const l of this.#listeners) l(d);
    });
    this.socket.emit('resize', { cols: 120, rows: 40 });
  }

  input(s: string): void {
    this.socket.emit('input', s);
  }

  onData(l: (d: string) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  close(): void {
    this.socket.close();
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

export const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** Busy and total jiffies of each CPU (/proc/stat), for how busy the server's core and the hosts' core were. */
export function cpuTimes(): Map<string, { busy: number; total: number; steal: number }> {
  const out = new Map<string, { busy: number; total: number; steal: number }>();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    const v = m[2].split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    // idle and iowait are not busy; steal (the hypervisor running someone else) is, and is also given apart.
    out.set(m[1], { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total, steal: v[7] ?? 0 });
  }
  return out;
}
/** Busy % between two cpuTimes() readings of the CPUs in a taskset list such as "1" or "0,1". */
export function busyPercent(before: ReturnType<typeof cpuTimes>, after: ReturnType<typeof cpuTimes>, cpus: string): number {
  let busy = 0;
  let total = 0;
  for (const c of cpus.split(',')) {
    const a = before.get(c);
    const b = after.get(c);
    if (!a || !b) continue;
    busy += b.busy - a.busy;
    total += b.total - a.total;
  }
  return total > 0 ? (busy / total) * 100 : NaN;
}

/**
 * CPU seconds all CPUs ran work of this machine between two cpuTimes() readings, and the seconds the hypervisor
 * gave them to someone else instead (steal: a busy neighbour of this virtual machine). /proc/stat counts in 1/100 s.
 */
export function busyCpuSeconds(before: ReturnType<typeof cpuTimes>, after: ReturnType<typeof cpuTimes>): { busy: number; steal: number } {
  let busy = 0;
  let steal = 0;
  for (const [c, b] of after) {
    const a = before.get(c) ?? b;
    steal += b.steal - a.steal;
    busy += b.busy - a.busy - (b.steal - a.steal);
  }
  return { busy: busy / 100, steal: steal / 100 };
}

/** CPU seconds of a process and of its children it has waited for (utime, stime, cutime, cstime). */
export function processCpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // Fields 14–17 of stat, i.e. 11–14 after "pid (comm) "; clock ticks are 1/100 s on Linux.
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds the hosts of `envId` used so far: every live process's own time plus what it reaped
 * from exited children (a check's short-lived processes end up in their shell's cutime). Deltas
 * over a phase are what the benches print; a long-lived process exiting mid-phase adds some error.
 */
export function hostCpuSeconds(envId: string): number {
  let t = 0;
  for (const pid of hostPids(envId)) t += processCpuSeconds(pid);
  return t;
}

/**
 * Takes the hosts of `envId` onto `cpus` with a CPU weight of their own, in cgroups of the bench
 * (cpuset and cpu hierarchies only; their memory and pids cgroups, through which the provider
 * stops them, stay as they are). Why: all lab hosts share one parent cgroup whose weight equals one
 * process's, so on a machine busy with other jobs the bench's hosts would wait behind everyone.
 * Returns an undo that removes the bench cgroups (call it after the environment is destroyed).
 * Linux with cgroup v1 cpuset and cpu controllers (the hybrid layout here); elsewhere does nothing.
 */
export function isolateHosts(envId: string, cpus: string, shares = 8192): () => void {
  const made: string[] = [];
  const cpuset = path.join('/sys/fs/cgroup/cpuset', `labwright-bench-${envId}`);
  const cpu = path.join('/sys/fs/cgroup/cpu', `labwright-bench-${envId}`);
  try {
    mkdirSync(cpuset);
    made.push(cpuset);
    writeFileSync(path.join(cpuset, 'cpuset.cpus'), cpus);
    writeFileSync(path.join(cpuset, 'cpuset.mems'), readFileSync('/sys/fs/cgroup/cpuset/cpuset.mems', 'utf8').trim());
    mkdirSync(cpu);
    made.push(cpu);
    writeFileSync(path.join(cpu, 'cpu.shares'), String(shares));
    for (const pid of hostPids(envId)) {
      for (const d of made) {
        try {
          writeFileSync(path.join(d, 'cgroup.procs'), String(pid));
        } catch {
          // exited meanwhile
        }
      }
    }
  } catch (e) {
    console.warn(`hosts not isolated (${e instanceof Error ? e.message : String(e)})`);
  }
  return () => {
    for (const d of made.reverse()) {
      try {
        rmdirSync(d);
      } catch (e) {
        console.warn(`could not remove ${d}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
}
