// The per-environment Linux bridge, its firewall (IPv4 and IPv6), and what the machine's routing table
// already uses (so a new lab subnet never shadows a real network).
import fs from 'node:fs/promises';
import { haveCommand, run } from '../exec.ts';
import { parseCidr } from './subnet.ts';
import type { Cidr } from './subnet.ts';

export async function createBridge(name: string, address: string, prefix: number): Promise<void> {
  await run('ip', ['link', 'add', name, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  // No IPv6 on the server's side of the bridge (set before it is up, so it never gets a link-local address):
  // the labs use IPv4 and the firewall below is the second line. Hosts still talk IPv6 among themselves (L2).
  await disableIpv6(name);
  await quickArp(name);
  await run('ip', ['addr', 'add', `${address}/${prefix}`, 'dev', name]);
  await run('ip', ['link', 'set', name, 'up']);
}

/**
 * The server's first SSH attempt to a host usually goes out before the host has its address: the kernel
 * then asks ARP every second (3 times) before the connect fails and is retried. Asking every 100 ms on
 * the environment's own bridge lets the connection through within 0.1 s of the host coming up.
 */
async function quickArp(bridge: string): Promise<void> {
  await fs.writeFile(`/proc/sys/net/ipv4/neigh/${bridge}/retrans_time_ms`, '100').catch(() => undefined);
}

const ipv6Sysctl = (link: string): string => `/proc/sys/net/ipv6/conf/${link}/disable_ipv6`;

/** True when this kernel has IPv6 at all (otherwise there is nothing to disable or filter). */
export async function haveIpv6(): Promise<boolean> {
  return fs.access('/proc/sys/net/ipv6').then(
    () => true,
    () => false,
  );
}

/** Turns IPv6 off on one link of the server (net.ipv6.conf.<link>.disable_ipv6=1). */
export async function disableIpv6(link: string): Promise<void> {
  if (!(await haveIpv6())) return;
  await fs.writeFile(ipv6Sysctl(link), '1');
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

/** The firewalls to program: iptables always, ip6tables where the kernel has IPv6. */
async function firewalls(): Promise<string[]> {
  if (!(await haveIpv6())) return ['iptables'];
  if (!(await haveCommand('ip6tables'))) throw new Error('ip6tables not found (Debian package iptables): IPv6 from hosts could not be filtered');
  return ['iptables', 'ip6tables'];
}

/**
 * Hosts are root in their container: keep them off the server's own ports and out of other networks, over
 * IPv4 and IPv6 alike (a host could otherwise reach a service bound on :: through a link-local address).
 * Traffic the server starts (SSH, etcd checks) still flows, since its replies are ESTABLISHED.
 */
export async function isolateBridge(bridge: string, envId: string): Promise<void> {
  const c = `-m comment --comment ${ruleComment(envId)}`;
  // One iptables-restore per family (--noflush: the rules are inserted, nothing else is touched) instead
  // of one process per rule. Inserted at 1 in this order: ESTABLISHED accept, then drop, in INPUT.
  const batch = [
    '*filter',
    `-I INPUT 1 -i ${bridge} ${c} -j DROP`,
    `-I INPUT 1 -i ${bridge} -m conntrack --ctstate ESTABLISHED,RELATED ${c} -j ACCEPT`,
    `-I FORWARD 1 -i ${bridge} ! -o ${bridge} ${c} -j DROP`,
    'COMMIT',
    '',
  ].join('\n');
  await Promise.all((await firewalls()).map((fw) => run(`${fw}-restore`, ['-w', '--noflush'], { input: batch })));
}

/** `iptables -S` / `ip6tables -S` lines of our rules, as [firewall, envId, rule args]. */
async function ourRules(): Promise<[string, string, string[]][]> {
  const out: [string, string, string[]][] = [];
  const fws = (await haveIpv6()) && (await haveCommand('ip6tables')) ? ['iptables', 'ip6tables'] : ['iptables'];
  for (const fw of fws) {
    for (const chain of ['INPUT', 'FORWARD']) {
      const { stdout } = await run(fw, ['-w', '-S', chain]);
      for (const line of stdout.split('\n')) {
        const m = /--comment "?labwright:(lw[a-z0-9]{5})"?/.exec(line);
        if (m?.[1] && line.startsWith('-A ')) out.push([fw, m[1], line.slice(3).split(' ').map((a) => a.replace(/^"(.*)"$/, '$1'))]);
      }
    }
  }
  return out;
}

export async function unisolate(envId: string): Promise<void> {
  for (const [fw, id, rule] of await ourRules()) if (id === envId) await run(fw, ['-w', '-D', ...rule], { okCodes: [0, 1] });
}

/** Environment ids that still have firewall rules (for reaping after a crash). */
export async function isolatedEnvIds(): Promise<string[]> {
  return [...new Set((await ourRules()).map(([, id]) => id))];
}

/** Our firewall rules of one environment, as `<firewall> <rule>` lines (for leak checks). */
export async function firewallRulesOf(envId: string): Promise<string[]> {
  return (await ourRules()).filter(([, id]) => id === envId).map(([fw, , rule]) => `${fw} ${rule.join(' ')}`);
}
