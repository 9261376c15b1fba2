// Boots one host: an overlay (cached image below, per-host dir above) started with systemd-nspawn in its
// own cgroups, detached so hosts outlive the process that created them (the CLI exits; hosts stay).
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { run } from '../exec.ts';

export interface HostPaths {
  upper: string;
  work: string;
  merged: string;
  docker: string;
  log: string;
}

export function hostPaths(hostDir: string): HostPaths {
  return {
    upper: path.join(hostDir, 'upper'),
    work: path.join(hostDir, 'work'),
    merged: path.join(hostDir, 'root'),
    docker: path.join(hostDir, 'docker'),
    log: path.join(hostDir, 'console.log'),
  };
}

export async function mountOverlay(lower: string, p: HostPaths): Promise<void> {
  await Promise.all([p.upper, p.work, p.merged, p.docker].map((d) => fs.mkdir(d, { recursive: true })));
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${p.upper},workdir=${p.work}`, p.merged]);
}

/** Unmounts everything at or below dir, deepest first; lazily if something still holds it. */
export async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await fs.readFile('/proc/mounts', 'utf8'))
    .split('\n')
    .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      await run('umount', [m]);
    } catch {
      await run('umount', ['-l', m], { okCodes: [0, 32] });
    }
  }
}

export function nspawnArgs(opts: { machine: string; hostname: string; paths: HostPaths; bridge: string }): string[] {
  // Each flag is explained in /work/shared/notes/local-hosts.md ("Flags that were needed, and why").
  return [
    '--boot',
    `--directory=${opts.paths.merged}`,
    `--machine=${opts.machine}`,
    `--hostname=${opts.hostname}`,
    '--register=no',
    '--keep-unit',
    '--console=passive',
    `--network-bridge=${opts.bridge}`,
    '--system-call-filter=@keyring',
    '--system-call-filter=bpf',
    `--bind=${opts.paths.docker}:/var/lib/docker`,
    '--resolv-conf=off',
    '--timezone=off',
    '--link-journal=no',
  ];
}

/**
 * Starts nspawn through a tiny shell that first moves itself into the host's cgroups, then execs nspawn,
 * so nspawn and everything the host runs are accounted (and limited, and killable) per host.
 */
export function launchHost(args: string[], cgroups: readonly string[], logFile: string): number {
  const fd = openSync(logFile, 'a', 0o600);
  try {
    const child = spawn('sh', ['-c', 'for g in $LW_CGROUPS; do echo $$ > "$g/cgroup.procs" || exit 97; done; exec systemd-nspawn "$@"', 'lw-launch', ...args], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LW_CGROUPS: cgroups.join(' '), SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' },
    });
    child.unref();
    if (child.pid === undefined) throw new Error('could not start systemd-nspawn');
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** True when pid is a live nspawn of this machine (not a recycled pid). */
export async function isHostProcess(pid: number, machine: string): Promise<boolean> {
  if (!pid) return false;
  const cmd = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmd.split('\0').includes(`--machine=${machine}`);
}

/**
 * nspawn locks the directory it boots by inode (/run/systemd/nspawn/locks/inode-<dev>:<ino>); the lock
 * file outlives it. Read the name while the overlay is still mounted.
 */
export async function directoryLockFile(merged: string): Promise<string | undefined> {
  const st = await fs.stat(merged).catch(() => undefined);
  return st ? `/run/systemd/nspawn/locks/inode-${st.dev}:${st.ino}` : undefined;
}

/** nspawn keeps per-machine runtime dirs (propagate, unix-export) that outlive it. */
export async function removeNspawnRuntime(machine: string): Promise<void> {
  const base = '/run/systemd/nspawn';
  const subdirs = await fs.readdir(base).catch(() => [] as string[]);
  for (const s of subdirs) await fs.rm(path.join(base, s, machine), { recursive: true, force: true });
}
