// Processes found by the namespaces they are in: the LXD cluster harness kills a member (or what a killed
// test run left of one) as a machine dies — everything in its network or mount namespaces, containers first.
import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** `net:[…]` / `mnt:[…]` of a process, '' when it is gone. */
export async function namespaceOf(pid: number | 'self', kind: 'net' | 'mnt'): Promise<string> {
  return fs.readlink(`/proc/${pid}/ns/${kind}`).catch(() => '');
}

/** Every pid on the machine but this process's own. */
export async function allPids(): Promise<number[]> {
  return (await fs.readdir('/proc').catch(() => [])).map(Number).filter((pid) => pid > 0 && pid !== process.pid);
}

/**
 * Pids of the processes in any of `namespaces` (network or mount): a proxy device's forkproxy ends up in its
 * container's network namespace but keeps its member's mount namespace. This process's own namespaces never
 * count (they are the machine's), so a wrong entry cannot reach every process.
 */
export async function pidsInNamespaces(namespaces: readonly string[]): Promise<number[]> {
  const own = new Set([await namespaceOf('self', 'net'), await namespaceOf('self', 'mnt')]);
  const wanted = new Set(namespaces.filter((ns) => ns && !own.has(ns)));
  if (wanted.size === 0) return [];
  const out: number[] = [];
  for (const pid of await allPids()) {
    for (const kind of ['net', 'mnt'] as const) {
      if (wanted.has(await namespaceOf(pid, kind))) {
        out.push(pid);
        break;
      }
    }
  }
  return out;
}

export async function cmdlineOf(pid: number): Promise<string> {
  return (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ').trim();
}

export function quietKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/**
 * Kills every process in `namespaces`: the containers' inits first (each takes its pid namespace with it),
 * then the rest, until none is left (5 s at most). Returns the pids and command lines it found.
 */
export async function killNamespaces(namespaces: readonly string[]): Promise<string[]> {
  const pids = await pidsInNamespaces(namespaces);
  const found: string[] = [];
  for (const pid of pids) {
    const cmd = await cmdlineOf(pid);
    found.push(`${pid} ${cmd}`);
    if (!cmd.startsWith('[lxc monitor]')) continue;
    const children = (await fs.readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).split(/\s+/).map(Number).filter((n) => n > 0);
    for (const c of children) {
      found.push(`${c} ${await cmdlineOf(c)} (a container's init)`);
      quietKill(c);
    }
  }
  for (const pid of pids) quietKill(pid);
  for (let i = 0; i < 50; i++) {
    const left = await pidsInNamespaces(namespaces);
    if (left.length === 0) break;
    for (const pid of left) quietKill(pid);
    await sleep(100);
  }
  return found;
}
