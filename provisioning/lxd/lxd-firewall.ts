// The firewall of an LXD environment's bridge when the daemon runs on this machine: the same walls as the
// local provider's (hosts cannot reach this machine's ports nor any other network), under their own comment
// so each provider's crash cleanup only ever sees its own rules.
import { haveCommand, run } from '../exec.ts';
import { haveIpv6 } from '../local/network.ts';

const COMMENT = 'labwright-lxd:';
const ruleComment = (envId: string): string => `${COMMENT}${envId}`;

async function firewalls(): Promise<string[]> {
  return (await haveIpv6()) && (await haveCommand('ip6tables')) ? ['iptables', 'ip6tables'] : ['iptables'];
}

export async function isolateLxdBridge(bridge: string, envId: string): Promise<void> {
  const c = ['-m', 'comment', '--comment', ruleComment(envId)];
  for (const fw of await firewalls()) {
    await run(fw, ['-w', '-I', 'INPUT', '1', '-i', bridge, ...c, '-j', 'DROP']);
    await run(fw, ['-w', '-I', 'INPUT', '1', '-i', bridge, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', ...c, '-j', 'ACCEPT']);
    await run(fw, ['-w', '-I', 'FORWARD', '1', '-i', bridge, '!', '-o', bridge, ...c, '-j', 'DROP']);
    // Hosts of one environment talk to each other (bridge-nf-call-iptables sends bridged frames through FORWARD).
    await run(fw, ['-w', '-I', 'FORWARD', '1', '-i', bridge, '-o', bridge, ...c, '-j', 'ACCEPT']);
  }
}

async function ourRules(): Promise<[string, string, string[]][]> {
  const out: [string, string, string[]][] = [];
  for (const fw of await firewalls()) {
    for (const chain of ['INPUT', 'FORWARD']) {
      const { stdout } = await run(fw, ['-w', '-S', chain]);
      for (const line of stdout.split('\n')) {
        const m = /--comment "?labwright-lxd:(lx[a-z0-9]{5})"?/.exec(line);
        if (m?.[1] && line.startsWith('-A ')) out.push([fw, m[1], line.slice(3).split(' ').map((a) => a.replace(/^"(.*)"$/, '$1'))]);
      }
    }
  }
  return out;
}

export async function unisolateLxd(envId: string): Promise<void> {
  for (const [fw, id, rule] of await ourRules()) if (id === envId) await run(fw, ['-w', '-D', ...rule], { okCodes: [0, 1] });
}

export async function lxdIsolatedEnvIds(): Promise<string[]> {
  return [...new Set((await ourRules()).map(([, id]) => id))];
}

export async function lxdFirewallRulesOf(envId: string): Promise<string[]> {
  return (await ourRules()).filter(([, id]) => id === envId).map(([fw, , rule]) => `${fw} ${rule.join(' ')}`);
}

/**
 * Rules LXD itself writes for a bridge (its "generated for LXD network <name>" comments): none with our
 * network settings, but an older daemon or a changed setting leaves them after the network is gone.
 */
export async function lxdOwnRulesOf(network: string): Promise<string[]> {
  const found: string[] = [];
  for (const fw of await firewalls()) {
    const { stdout } = await run(fw, ['-w', '-S'], { okCodes: [0, 1] });
    for (const line of stdout.split('\n')) if (line.includes(`LXD network ${network}`)) found.push(`${fw} ${line}`);
  }
  const nft = (await haveCommand('nft')) ? (await run('nft', ['list', 'ruleset'], { okCodes: [0, 1] })).stdout : '';
  for (const line of nft.split('\n')) if (new RegExp(`\\b${network}\\b`).test(line) && /lxd/i.test(line)) found.push(`nft ${line.trim()}`);
  return found;
}
