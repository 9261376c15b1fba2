// The per-environment Linux bridge, and what the machine's routing table already uses (so a new lab
// subnet never shadows a real network).
import { run } from '../exec.ts';
import { parseCidr } from './subnet.ts';
import type { Cidr } from './subnet.ts';

export async function createBridge(name: string, address: string, prefix: number): Promise<void> {
  await run('ip', ['link', 'add', name, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  await run('ip', ['addr', 'add', `${address}/${prefix}`, 'dev', name]);
  await run('ip', ['link', 'set', name, 'up']);
}

/** Deletes the bridge if it exists. */
export async function deleteBridge(name: string): Promise<void> {
  await run('ip', ['link', 'del', name], { okCodes: [0, 1] });
}

export async function listLinks(type?: string): Promise<string[]> {
  const args = ['-j', 'link', 'show', ...(type ? ['type', type] : [])];
  const { stdout } = await run('ip', args);
  const parsed = JSON.parse(stdout || '[]') as { ifname: string }[];
  return parsed.map((l) => l.ifname);
}

/** Every IPv4 destination in every routing table plus every local address. */
export async function usedNetworks(): Promise<Cidr[]> {
  const out: Cidr[] = [];
  const routes = JSON.parse((await run('ip', ['-j', '-4', 'route', 'show', 'table', 'all'])).stdout || '[]') as { dst?: string }[];
  for (const r of routes) {
    if (!r.dst || r.dst === 'default') continue;
    try {
      out.push(parseCidr(r.dst));
    } catch {
      // multicast/broadcast entries in other formats are irrelevant here
    }
  }
  const addrs = JSON.parse((await run('ip', ['-j', '-4', 'addr'])).stdout || '[]') as { addr_info?: { local?: string; prefixlen?: number }[] }[];
  for (const a of addrs) for (const i of a.addr_info ?? []) if (i.local) out.push(parseCidr(`${i.local}/${i.prefixlen ?? 32}`));
  return out;
}
