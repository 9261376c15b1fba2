// Where a lab host's boot goes, for bench/time-to-ready.ts: CPU per unit and when each unit was up (asked
// from the host's systemd), and — with tracing — every process the boot started, counted and timed by name.
import fs from 'node:fs/promises';
import { connectWhenUp, exec } from '../provisioning/local/ssh-probe.ts';
import type { Environment } from '../provisioning/provider.ts';
import { startTimeOf } from '../provisioning/testing/process-owner.ts';

const UNITS = ['docker.service', 'containerd.service', 'etcd.service', 'ssh.service', 'systemd-networkd.service', 'systemd-journald.service', 'dbus.service', 'init.scope'];
const SHORT: Record<string, string> = { 'docker.service': 'dockerd', 'containerd.service': 'containerd', 'etcd.service': 'etcd', 'ssh.service': 'sshd (logins included)', 'systemd-networkd.service': 'networkd', 'systemd-journald.service': 'journald', 'dbus.service': 'dbus', 'init.scope': 'systemd' };

/**
 * One line per host: its boot CPU split by unit (the unit's cgroup, children included: dockerd's iptables
 * runs are dockerd's), the rest (short boot-time units, the readiness login), and when SSH, etcd,
 * containerd, Docker and the default target were up, counted from the host's systemd start. bootCpuMs is
 * the host's whole cgroup, read before this logs in.
 */
export async function unitBreakdown(env: Environment, host: string, bootCpuMs: number, nspawnStartMs?: number): Promise<string> {
  const address = env.hosts.find((h) => h.name === host)!.address;
  const client = await connectWhenUp(address, env.privateKey, Date.now() + 10_000);
  try {
    const props = '-p Id -p CPUUsageNSec -p ActiveEnterTimestampMonotonic';
    const r = await exec(client, `systemctl show ${props} ${UNITS.join(' ')}; echo; systemctl show -p UserspaceTimestampMonotonic -p FinishTimestampMonotonic`, 10_000);
    const blocks = r.stdout.trim().split(/\n\s*\n/).map((b) => Object.fromEntries(b.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) as Record<string, string>);
    const manager = blocks.pop() ?? {};
    const start = Number(manager.UserspaceTimestampMonotonic ?? 0);
    const at = (mono: string | undefined): string => (Number(mono) > start ? `${((Number(mono) - start) / 1e6).toFixed(2)}` : '-');
    let counted = 0;
    const cpu: string[] = [];
    const up: string[] = [];
    for (const b of blocks) {
      const ms = Number(b.CPUUsageNSec) / 1e6;
      const name = SHORT[b.Id ?? ''] ?? b.Id ?? '?';
      if (Number.isFinite(ms)) {
        counted += ms;
        cpu.push(`${name} ${ms.toFixed(0)}`);
      }
      if (['ssh.service', 'etcd.service', 'containerd.service', 'docker.service'].includes(b.Id ?? '')) up.push(`${name} ${at(b.ActiveEnterTimestampMonotonic)}`);
    }
    up.push(`all ${at(manager.FinishTimestampMonotonic)}`);
    const launch = nspawnStartMs !== undefined && start > 0 ? `; nspawn start → systemd ${(start / 1000 - nspawnStartMs).toFixed(0)} ms` : '';
    return `${host} boot CPU ${bootCpuMs.toFixed(0)} ms: ${cpu.join(', ')}, other units ${Math.max(0, bootCpuMs - counted).toFixed(0)} ms; up at (s after systemd start) ${up.join(', ')}${launch}`;
  } finally {
    client.end();
  }
}

/** When a process started, in ms of CLOCK_MONOTONIC-like boot time (/proc/<pid>/stat starttime). */
export async function processStartMs(pid: number): Promise<number | undefined> {
  const ticks = Number(await startTimeOf(pid));
  // USER_HZ is 100 on Linux x86 and arm.
  return Number.isFinite(ticks) && ticks > 0 ? ticks * 10 : undefined;
}

const TRACE = '/sys/kernel/tracing/instances/labwright-bench';

/**
 * Records every process this one (and what it starts: nspawn, the hosts' systemd and all they run) execs,
 * and each one's CPU time, through a tracefs instance of its own (sched_process_exec, sched_stat_runtime,
 * event-fork). Returns a function that stops it and summarises by command name; undefined when tracefs is
 * not there.
 */
export async function traceProcesses(): Promise<(() => Promise<string[]>) | undefined> {
  try {
    await fs.mkdir(TRACE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  const w = (f: string, v: string): Promise<void> => fs.writeFile(`${TRACE}/${f}`, v);
  await w('tracing_on', '0');
  await w('trace', '');
  await w('buffer_size_kb', '32768');
  await w('set_event', 'sched:sched_process_exec\nsched:sched_stat_runtime\n');
  await w('options/event-fork', '1');
  await w('set_event_pid', String(process.pid));
  await w('tracing_on', '1');
  return async () => {
    await w('tracing_on', '0');
    const text = await fs.readFile(`${TRACE}/trace`, 'utf8');
    await w('set_event_pid', '');
    await w('set_event', '');
    await fs.rmdir(TRACE).catch(() => undefined);
    return summariseTrace(text);
  };
}

/** Execs and CPU by command: a process's CPU counts under what it last exec'd (threads under their process's name). */
export function summariseTrace(text: string): string[] {
  const name = new Map<string, string>();
  const runtime = new Map<string, number>();
  const execs = new Map<string, number>();
  for (const line of text.split('\n')) {
    const ex = /sched_process_exec: filename=(\S+) pid=(\d+)/.exec(line);
    if (ex) {
      const cmd = ex[1]!.split('/').pop()!;
      name.set(ex[2]!, cmd);
      execs.set(cmd, (execs.get(cmd) ?? 0) + 1);
      continue;
    }
    const rt = /sched_stat_runtime: comm=(\S+) pid=(\d+) runtime=(\d+)/.exec(line);
    if (rt) {
      if (!name.has(rt[2]!)) name.set(rt[2]!, rt[1]!);
      runtime.set(rt[2]!, (runtime.get(rt[2]!) ?? 0) + Number(rt[3]));
    }
  }
  const byName = new Map<string, number>();
  for (const [pid, ns] of runtime) byName.set(name.get(pid)!, (byName.get(name.get(pid)!) ?? 0) + ns);
  const total = [...byName.values()].reduce((a, b) => a + b, 0);
  const runs = [...execs.values()].reduce((a, b) => a + b, 0);
  const rows = [...byName].sort((a, b) => b[1] - a[1]).slice(0, 16);
  return [
    `processes started ${runs}, CPU ${(total / 1e9).toFixed(2)} s (this bench's node process included); by command (runs, CPU):`,
    ...rows.map(([n, ns]) => `  ${n.padEnd(30)} ${String(execs.get(n) ?? 0).padStart(4)}  ${(ns / 1e6).toFixed(0).padStart(6)} ms`),
  ];
}
