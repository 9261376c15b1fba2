// Boots one host: an overlay (cached image below, per-host dir above) started with systemd-nspawn in its
// own cgroups, detached so hosts outlive the process that created them (the CLI exits; hosts stay).
// Unprivileged hosts (userns): the image is the lower layer through an idmapped bind, upper/work belong to BASE.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { run } from '../exec.ts';
import { ID_COUNT, mountIdmapped } from './idmap.ts';

export interface HostPaths {
  /** Unprivileged hosts: the idmapped bind of the image, the overlay's lower layer. */
  lower: string;
  upper: string;
  work: string;
  merged: string;
  docker: string;
  log: string;
}

export function hostPaths(hostDir: string): HostPaths {
  return {
    lower: path.join(hostDir, 'lower'),
    upper: path.join(hostDir, 'upper'),
    work: path.join(hostDir, 'work'),
    merged: path.join(hostDir, 'root'),
    docker: path.join(hostDir, 'docker'),
    log: path.join(hostDir, 'console.log'),
  };
}

/** Unprivileged: the host's id range and the lw-idmap helper (idmap.ts) that mounts the image for it. */
export interface UsernsMount {
  base: number;
  helper: string;
}

export async function mountOverlay(image: string, p: HostPaths, userns?: UsernsMount): Promise<void> {
  await Promise.all([p.upper, p.work, p.merged, p.docker].map((d) => fs.mkdir(d, { recursive: true })));
  let lower = image;
  if (userns) {
    // The image is owned by 0 on disk; through the bind host root (BASE) owns it. An idmapped upper is refused
    // by overlayfs (EOVERFLOW), so upper/work are plain directories owned by BASE: new files land as BASE+uid.
    // So is Docker's directory (a bind, no idmap: host root's files there are BASE's on disk too).
    await fs.mkdir(p.lower, { recursive: true });
    await mountIdmapped(userns.helper, image, p.lower, userns.base);
    await Promise.all([p.upper, p.work, p.docker].map((d) => fs.chown(d, userns.base, userns.base)));
    lower = p.lower;
  }
  await mountMerged(lower, p);
}

/** The overlay itself, over a lower layer already in place (a restored snapshot remounts only this). */
export async function mountMerged(lower: string, p: HostPaths): Promise<void> {
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${p.upper},workdir=${p.work}`, p.merged]);
}

/**
 * Unmounts everything at or below dir, newest first (/proc/mounts lists in mount order: the overlay goes
 * before the idmapped bind it sits on); lazily if something still holds it.
 */
export async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await fs.readFile('/proc/mounts', 'utf8'))
    .split('\n')
    .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .reverse();
  for (const m of mounts) {
    try {
      await run('umount', [m]);
    } catch {
      await run('umount', ['-l', m], { okCodes: [0, 32] });
    }
  }
}

export function nspawnArgs(opts: { machine: string; hostname: string; paths: HostPaths; bridge: string; idBase?: number }): string[] {
  // Each flag is explained in /work/shared/notes/local-hosts.md ("Flags that were needed, and why").
  // Unprivileged: host root is uid idBase here; the rootfs and Docker's directory are owned right already
  // (ownership=off: no chown pass). Docker's directory is not idmapped: what host root makes there is BASE's.
  const userns = opts.idBase === undefined ? [] : [`--private-users=${opts.idBase}:${ID_COUNT}`, '--private-users-ownership=off'];
  return [
    ...userns,
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
