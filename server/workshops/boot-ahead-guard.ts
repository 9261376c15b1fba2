// Before a workshop boots the hosts of every free seat ahead: do they fit in this machine's memory? A class of
// 40 on a small server would otherwise boot until the machine swaps; the refusal names the figures.
import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * Memory one idle lab host holds (its cgroup, page cache included), rounded up: README measures 44–53 MiB per
 * host (53 MiB in a 3-host environment with etcd and Docker, ~43 MiB in a one-host Docker environment; a host
 * waiting in a pool holds ~5 MiB more: the sshd sessions of the connections the server makes ahead).
 */
export const MIB_PER_HOST = 64;

/** Memory left free after the boot-ahead: the server, attendees' own work on their hosts, the page cache. */
export function reserveMiB(totalMiB: number): number {
  return Math.max(1024, Math.round(totalMiB / 10));
}

export interface MachineMemory {
  /** MemAvailable: what can be taken without swapping. */
  availableMiB: number;
  totalMiB: number;
}

/** The machine's memory now (/proc/meminfo; os.freemem where there is none). */
export function machineMemory(): MachineMemory {
  try {
    const text = readFileSync('/proc/meminfo', 'utf8');
    const kib = (name: string): number | undefined => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const total = kib('MemTotal');
    const avail = kib('MemAvailable');
    if (total !== undefined && avail !== undefined) return { availableMiB: Math.floor(avail / 1024), totalMiB: Math.floor(total / 1024) };
  } catch {
    // Not Linux: below.
  }
  return { availableMiB: Math.floor(os.freemem() / 2 ** 20), totalMiB: Math.floor(os.totalmem() / 2 ** 20) };
}

export interface BootAheadAsk {
  /** Environments to boot for this workshop (its free seats). */
  environments: number;
  hostsPerEnvironment: number;
  /** Environments other workshops still have to boot ahead (booted ones are already out of MemAvailable). */
  pendingHosts: number;
  memory: MachineMemory;
}

/** Why the machine cannot hold these environments (the figures, and how many would fit), or undefined when they fit. */
export function bootAheadRefusal(ask: BootAheadAsk): string | undefined {
  const needMiB = ask.environments * ask.hostsPerEnvironment * MIB_PER_HOST;
  const pendingMiB = ask.pendingHosts * MIB_PER_HOST;
  const reserve = reserveMiB(ask.memory.totalMiB);
  const spareMiB = ask.memory.availableMiB - reserve - pendingMiB;
  if (needMiB <= spareMiB) return undefined;
  const fit = Math.max(0, Math.floor(spareMiB / (ask.hostsPerEnvironment * MIB_PER_HOST)));
  const others = pendingMiB > 0 ? `, ${pendingMiB} MiB of it promised to other workshops booting ahead` : '';
  const hosts = ask.hostsPerEnvironment === 1 ? '1 host' : `${ask.hostsPerEnvironment} hosts`;
  return (
    `not enough memory to boot ${ask.environments} environments ahead: they need about ${needMiB} MiB ` +
    `(${ask.environments} × ${hosts} × ${MIB_PER_HOST} MiB), and this machine has ${ask.memory.availableMiB} MiB available${others}, ` +
    `of which ${reserve} MiB stays free for the server and the attendees' work; about ${fit} would fit. ` +
    'Create the workshop with fewer seats, or leave the option off (the warm pool still boots a few ahead).'
  );
}

/** A workshop with the option kept on, as a restart finds it: its free seats and its lab's hosts. */
export interface KeptBootAhead {
  id: string;
  seats: number;
  hostsPerEnvironment: number;
}

/**
 * At a start, the workshops whose kept boot-ahead this machine's memory no longer holds (it may have less
 * free than when the instructor turned it on): each is checked after those before it in `kept`, which keep
 * theirs first. Returns the refusal of each that does not fit, by workshop id.
 */
export function keptBootAheadRefusals(kept: readonly KeptBootAhead[], memory: MachineMemory): Map<string, string> {
  const refused = new Map<string, string>();
  let pendingHosts = 0;
  for (const w of kept) {
    const refusal = bootAheadRefusal({ environments: w.seats, hostsPerEnvironment: w.hostsPerEnvironment, pendingHosts, memory });
    if (refusal === undefined) pendingHosts += w.seats * w.hostsPerEnvironment;
    else refused.set(w.id, refusal);
  }
  return refused;
}
