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

const ruleComment = (envId: string): string => `labwright:${envId}`;

/**
 * Hosts are root in their container: keep them off the server's own ports and out of other networks.
 * Traffic the server starts (SSH, etcd checks) still flows, since its replies are ESTABLISHED.
 */
export async function isolateBridge(bridge: string, envId: string): Promise<void> {
  const c = ['-m', 'comment', '--comment', ruleComment(envId)];
  await run('iptables', ['-w', '-I', 'INPUT', '1', '-i', bridge, ...c, '-j', 'DROP']);
  await run('iptables', ['-w', '-I', 'INPUT', '1', '-i', bridge, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', ...c, '-j', 'ACCEPT']);
  await run('iptables', ['-w', '-I', 'FORWARD', '1', '-i', bridge, '!', '-o', bridge, ...c, '-j', 'DROP']);
}

/** `iptables -S` lines of our rules, as [envId, rule args]. */
async function ourRules(): Promise<[string, string[]][]> {
  const out: [string, string[]][] = [];
  for (const chain of ['INPUT', 'FORWARD']) {
    const { stdout } = await run('iptables', ['-w', '-S', chain]);
    for (const line of stdout.split('\n')) {
      const m = /--comment "?labwright:(lw[a-z0-9]{5})"?/.exec(line);
      if (m?.[1] && line.startsWith('-A ')) out.push([m[1], line.slice(3).split(' ').map((a) => a.replace(/^"(.*)"$/, '$1'))]);
    }
  }
  return out;
}

export async function unisolate(envId: string): Promise<void> {
  for (const [id, rule] of await ourRules()) if (id === envId) await run('iptables', ['-w', '-D', ...rule], { okCodes: [0, 1] });
}

/** Environment ids that still have firewall rules (for reaping after a crash). */
export async function isolatedEnvIds(): Promise<string[]> {
  return [...new Set((await ourRules()).map(([id]) => id))];
}
