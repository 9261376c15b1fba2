// `overlay` check (flannel layout): the network config at <prefix>/config, one lease per host
// under <prefix>/subnets/, leases disjoint and inside the network, and each host's interface
// address inside its own lease.
import type { CheckResult, overlayCheck } from '../../../common/checks.ts';
import type { z } from 'zod';
import type { CheckTarget, EvalContext } from '../check-target.ts';
import type { Cidr } from '../cidr.ts';
import { cidrContainsIp, cidrInside, cidrsOverlap, parseCidr, parseIpv4 } from '../cidr.ts';
import { combineOutcomes, resolveSelector } from '../host-selector.ts';
import type { Described } from '../outcome.ts';
import { errorText, probeHost, toResult } from '../outcome.ts';
import { shq } from '../../ssh/shell-quote.ts';

type OverlaySpec = z.output<typeof overlayCheck>;

export interface Lease {
  key: string;
  subnet: Cidr;
  /** The host address the lease was taken for (flannel's PublicIP), when the value says. */
  publicIp: string | undefined;
}

/** Parses flannel lease keys (`…/subnets/10.2.1.0-24`) and their JSON values. */
export function parseLeases(entries: Map<string, string>, subnetsPrefix: string): Lease[] {
  const leases: Lease[] = [];
  for (const [key, value] of entries) {
    const subnet = parseCidr(key.slice(subnetsPrefix.length).replace(/-(\d+)$/, '/$1'));
    if (!subnet) continue;
    let publicIp: string | undefined;
    try {
      const v = JSON.parse(value) as { PublicIP?: unknown };
      if (typeof v.PublicIP === 'string') publicIp = v.PublicIP;
    } catch {
      // A lease without JSON is still a lease; it is matched to a host by interface address.
    }
    leases.push({ key, subnet, publicIp });
  }
  return leases;
}

/** `ip -4 -o addr show dev X` → the first IPv4 address, e.g. "10.2.1.1". */
export function parseIpAddr(out: string): string | undefined {
  return /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1];
}

async function configResult(target: CheckTarget, spec: OverlaySpec, network: Cidr): Promise<CheckResult> {
  const d: Described = { kind: 'overlay', subject: `overlay config ${spec.prefix}/config`, expected: `network ${spec.network}` };
  const start = performance.now();
  const done = (pass: boolean, actual: string): CheckResult => toResult(d, { status: pass ? 'pass' : 'fail', actual, durationMs: performance.now() - start });
  const raw = await target.etcd().get(`${spec.prefix}/config`);
  if (raw === null) return done(false, 'absent');
  let net: unknown;
  try {
    net = (JSON.parse(raw) as { Network?: unknown }).Network;
  } catch {
    return done(false, 'not valid JSON');
  }
  const parsed = typeof net === 'string' ? parseCidr(net) : undefined;
  if (!parsed) return done(false, 'without a valid "Network"');
  const same = parsed.base === network.base && parsed.prefix === network.prefix;
  return done(same, `network ${parsed.text}`);
}

export async function evalOverlay(target: CheckTarget, spec: OverlaySpec, ctx: EvalContext): Promise<CheckResult[]> {
  const network = parseCidr(spec.network);
  const d: Described = { kind: 'overlay', subject: `overlay lease (${spec.interface} inside it)`, expected: `a lease inside ${spec.network}` };
  if (!network) return [toResult(d, { status: 'error', actual: `"${spec.network}" is not a CIDR`, durationMs: 0 })];
  const sel = resolveSelector(
    spec.on,
    target.hosts.map((h) => h.name),
  );
  if (typeof sel === 'string') return [toResult(d, { status: 'error', actual: sel, durationMs: 0 })];
  const subnetsPrefix = `${spec.prefix}/subnets/`;
  let config: CheckResult;
  let leases: Lease[];
  try {
    [config, leases] = await Promise.all([configResult(target, spec, network), target.etcd().getPrefix(subnetsPrefix).then((m) => parseLeases(m, subnetsPrefix))]);
  } catch (e) {
    return [toResult({ ...d, subject: 'overlay' }, { status: 'error', actual: `etcd is not answering: ${errorText(e)}`, durationMs: 0 })];
  }
  const outcomes = await Promise.all(
    sel.hosts.map((name) =>
      probeHost(name, async () => {
        const address = target.hosts.find((h) => h.name === name)?.address;
        const r = await target.exec(name, `ip -4 -o addr show dev ${shq(spec.interface)}`, { timeoutMs: ctx.timeoutMs, signal: ctx.signal });
        const ifAddr = r.code === 0 ? parseIpAddr(r.stdout) : undefined;
        const ifIp = ifAddr === undefined ? undefined : parseIpv4(ifAddr);
        // A host's lease is the one flannel took for its address; failing that, the one its interface sits in.
        const lease = leases.find((l) => l.publicIp !== undefined && l.publicIp === address) ?? (ifIp === undefined ? undefined : leases.find((l) => cidrContainsIp(l.subnet, ifIp)));
        if (!lease) return { pass: false, actual: `no lease${ifAddr ? ` (${spec.interface} is ${ifAddr})` : ''}` };
        const s = lease.subnet.text;
        if (!cidrInside(lease.subnet, network)) return { pass: false, actual: `lease ${s}, outside ${spec.network}` };
        const clash = leases.find((l) => l !== lease && cidrsOverlap(l.subnet, lease.subnet));
        if (clash) return { pass: false, actual: `lease ${s}, overlapping ${clash.subnet.text}` };
        if (ifIp === undefined) return { pass: false, actual: `lease ${s}, but ${spec.interface} has no IPv4 address` };
        if (!cidrContainsIp(lease.subnet, ifIp)) return { pass: false, actual: `lease ${s}, but ${spec.interface} is ${ifAddr ?? '?'}` };
        return { pass: true, actual: `lease ${s} with ${spec.interface} ${ifAddr ?? ''}` };
      }),
    ),
  );
  const perHost: Described = { ...d, expected: `a lease inside ${spec.network} holding its ${spec.interface} address` };
  return [config, ...combineOutcomes(sel, perHost, outcomes)];
}
