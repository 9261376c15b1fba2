// The project's own LXD daemon (machines here have no systemd to start it): started on first use with
// its own LXD_DIR, initialised once (a btrfs storage pool on a loop file LXD makes itself; no networks,
// no NAT, no listening address), and stopped only by whoever asks for it (tests, `env lxd-stop`).
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { haveCommand, run } from '../exec.ts';
import { ProvisionError } from '../provider.ts';
import { LxdClient, LxdError } from './lxd-client.ts';

/** The storage pool every instance's root disk lives on. */
export const STORAGE_POOL = 'labwright';

export interface LxdDaemonOptions {
  /** LXD_DIR: the daemon's database, socket, images and storage loop file. */
  dir: string;
  /** Size of the pool's sparse loop file (GiB): the sum of what hosts write beyond the image. */
  poolGb: number;
  /** Give up waiting for the daemon after this long. */
  startTimeoutMs?: number;
}

export const socketPathOf = (dir: string): string => path.join(dir, 'unix.socket');

/**
 * The environment an LXD daemon of ours runs with. LXD fetches its cloud instance-type list from
 * images.linuxcontainers.org as it starts (and daily): a DNS query and an HTTPS request to the outside world
 * that Labwright never needs (its images are imported locally). Every HTTP client of the daemon honours
 * https_proxy/http_proxy: pointed at a closed port on loopback, those requests fail at once, without a DNS
 * lookup or a packet leaving the machine. `noProxy`: addresses the daemon must reach directly (a cluster's
 * members, for one another).
 */
export function lxdDaemonEnv(dir: string, noProxy = ''): NodeJS.ProcessEnv {
  const nowhere = 'http://127.0.0.1:9';
  return { ...process.env, LXD_DIR: dir, https_proxy: nowhere, http_proxy: nowhere, HTTPS_PROXY: nowhere, HTTP_PROXY: nowhere, no_proxy: noProxy, NO_PROXY: noProxy };
}

/** True when a daemon answers on the socket of `dir`. */
export async function daemonAnswers(dir: string): Promise<boolean> {
  const c = new LxdClient({ socketPath: socketPathOf(dir) });
  try {
    await c.get('/1.0');
    return true;
  } catch {
    return false;
  } finally {
    c.close();
  }
}

/** Why LXD cannot run here (undefined: it can). Checked before anything is started, so a missing package is a clear error, not a hang. */
export async function lxdMissing(): Promise<string | undefined> {
  if (!(await haveCommand('lxd'))) return 'lxd not found: install the Debian package lxd (scripts/setup.sh does)';
  if (!(await haveCommand('mkfs.btrfs'))) return 'mkfs.btrfs not found: install the Debian package btrfs-progs (scripts/setup.sh does)';
  if (process.getuid?.() !== 0) return 'the LXD daemon must be started as root';
  return undefined;
}

/**
 * A client of the daemon of `opts.dir`, starting and initialising it first when nothing answers there.
 * `started` says whether this call started it (so a test can stop what it started).
 */
export async function ensureDaemon(opts: LxdDaemonOptions): Promise<{ client: LxdClient; started: boolean }> {
  let started = false;
  if (!(await daemonAnswers(opts.dir))) {
    const missing = await lxdMissing();
    if (missing) throw new ProvisionError('missing-dependency', missing);
    await fs.mkdir(opts.dir, { recursive: true, mode: 0o711 });
    const logFile = path.join(opts.dir, 'lxd.log');
    const out = openSync(path.join(opts.dir, 'lxd.out'), 'a');
    try {
      // Detached into its own session: the daemon (and the hosts) outlive the process that started it.
      const args = ['--logfile', logFile, ...((await groupExists('lxd')) ? ['--group', 'lxd'] : [])];
      const child = spawn('lxd', args, { env: lxdDaemonEnv(opts.dir), detached: true, stdio: ['ignore', out, out] });
      child.on('error', () => undefined);
      child.unref();
    } finally {
      closeSync(out);
    }
    started = true;
    const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
    while (!(await daemonAnswers(opts.dir))) {
      if (Date.now() > deadline) {
        const tail = (await fs.readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
        throw new ProvisionError('missing-dependency', `the LXD daemon (LXD_DIR=${opts.dir}) did not answer within ${opts.startTimeoutMs ?? 60_000} ms${tail ? `: ${tail}` : ''}`);
      }
      await sleep(100);
    }
  }
  const client = new LxdClient({ socketPath: socketPathOf(opts.dir) });
  await initialise(client, opts.poolGb);
  return { client, started };
}

/** The one-time set-up (idempotent): our storage pool. Nothing else — no network with NAT, no listener. */
export async function initialise(client: LxdClient, poolGb: number): Promise<void> {
  if (await client.exists(`/1.0/storage-pools/${STORAGE_POOL}`)) return;
  try {
    await client.call('POST', '/1.0/storage-pools', {
      body: { name: STORAGE_POOL, driver: 'btrfs', description: 'labwright: copy-on-write instances', config: { size: `${poolGb}GiB` } },
    });
  } catch (e) {
    // Two processes initialising at once: the other one made it.
    if (!(e instanceof LxdError && /already exists/i.test(e.message))) throw e;
  }
}

/** Stops the daemon of `dir` (and with it every instance it runs). For tests and explicit shutdowns. */
export async function stopDaemon(dir: string): Promise<void> {
  if (!(await daemonAnswers(dir))) return;
  await run('lxd', ['shutdown', '--timeout', '60'], { env: { ...process.env, LXD_DIR: dir }, okCodes: [0, 1] });
  for (let i = 0; i < 100 && (await daemonAnswers(dir)); i++) await sleep(100);
  await detachPoolLoops(dir);
}

/**
 * Detaches the loop devices of the pool files under `dir`, once nothing has them mounted. LXD unmounts its
 * pool on shutdown but leaves the loop device attached to the pool's file, and the kernel's btrfs keeps the
 * device registered: `losetup -d` then only marks it to go when it is closed (seen on a loaded machine:
 * still attached minutes later). Forget it in btrfs, then detach, until none is left (10 s at most).
 */
export async function detachPoolLoops(dir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const devs = await loopDevicesUnder(dir);
    if (devs.length === 0) return;
    for (const dev of devs) {
      await run('btrfs', ['device', 'scan', '--forget', dev], { okCodes: [0, 1] }).catch(() => undefined);
      await run('losetup', ['-d', dev], { okCodes: [0, 1] });
    }
    await sleep(200);
  }
}

/** Loop devices whose backing file lies under `dir` (the storage pool's image file). */
export async function loopDevicesUnder(dir: string): Promise<string[]> {
  const r = await run('losetup', ['--list', '--noheadings', '--raw', '-O', 'NAME,BACK-FILE'], { okCodes: [0, 1] });
  const prefix = `${path.resolve(dir)}/`;
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter(([name, file]) => name && file && file.replace(/ \(deleted\)$/, '').startsWith(prefix))
    .map(([name]) => name!);
}

async function groupExists(name: string): Promise<boolean> {
  const groups = await fs.readFile('/etc/group', 'utf8').catch(() => '');
  return groups.split('\n').some((l) => l.startsWith(`${name}:`));
}
