// Reads one snapshot of an environment's cluster for the Cluster tab: per host (one command over the
// check connection: unit states and the Docker API), etcd members / leader / raft term over etcd's own
// API, keys under the lab's prefixes with lease TTLs, and overlay leases. Never in the attendee's shell.
import { CLUSTER_VIEW_LIMITS } from '../../common/cluster-view.ts';
import type {
  ClusterContainer,
  ClusterHostView,
  ClusterSnapshot,
  ClusterUnit,
  EtcdClusterView,
  KeyView,
  OverlayView,
  PrefixView,
  ResolvedClusterView,
} from '../../common/cluster-view.ts';
import type { CheckTarget, TargetHost } from '../checks/check-target.ts';
import { parseLeases } from '../checks/kinds/overlay-check.ts';
import { errorText } from '../checks/outcome.ts';
import { shq } from '../ssh/shell-quote.ts';
import type { ClusterEtcd, MemberStatus, RangeEntry } from './cluster-etcd.ts';

export interface ClusterSource {
  readonly hosts: readonly TargetHost[];
  exec: CheckTarget['exec'];
  etcd: ClusterEtcd;
}

/** A busy host may take seconds to answer; the loop never overlaps readings, so waiting costs nothing. */
const HOST_TIMEOUT_MS = 10_000;
const MAX_CONTAINERS = 40;
const CONTAINERS_MARK = '--labwright-containers--';

/**
 * The one command a snapshot runs on each host: `systemctl list-units` for the lab's units and the
 * Docker API over its socket (curl, not the docker CLI, which costs tens of ms of CPU per call).
 * With nothing to list it is the shell builtin `true`: a reachability probe that starts no process.
 */
export function hostCommand(view: ResolvedClusterView): string {
  const parts: string[] = [];
  if (view.units.length > 0) parts.push(`systemctl list-units --all --plain --no-legend --no-pager --full -- ${view.units.map(shq).join(' ')} 2>/dev/null`);
  if (view.containers) parts.push(`echo ${CONTAINERS_MARK}; curl -s --max-time 2 --unix-socket /var/run/docker.sock 'http://docker/containers/json?all=1' 2>/dev/null`);
  return parts.length > 0 ? `${parts.join('; ')}; true` : 'true';
}

/** `systemctl list-units --plain --no-legend` lines: UNIT LOAD ACTIVE SUB DESCRIPTION. */
export function parseUnits(out: string): ClusterUnit[] {
  const units: ClusterUnit[] = [];
  for (const line of out.split('\n')) {
    const [name, load, active, sub] = line.trim().split(/\s+/);
    if (!name || !load || !active || !sub) continue;
    units.push({ name, active: load === 'not-found' ? 'not-found' : active, sub });
  }
  return units;
}

/** The Docker API's `/containers/json` answer; anything else (no Docker, junk) is no containers. */
export function parseContainers(out: string): ClusterContainer[] {
  let list: unknown;
  try {
    list = JSON.parse(out);
  } catch {
    return [];
  }
  if (!Array.isArray(list)) return [];
  const str = (x: unknown): string => (typeof x === 'string' ? x : '');
  return list.slice(0, MAX_CONTAINERS).map((c: Record<string, unknown>) => {
    const names = Array.isArray(c.Names) ? c.Names.map(str) : [];
    return { name: (names[0] ?? '').replace(/^\//, ''), image: str(c.Image), state: str(c.State), status: str(c.Status) };
  });
}

async function readHost(src: ClusterSource, host: TargetHost, command: string): Promise<ClusterHostView> {
  const signal = AbortSignal.timeout(HOST_TIMEOUT_MS);
  try {
    const r = await src.exec(host.name, command, { timeoutMs: HOST_TIMEOUT_MS, signal, maxOutputBytes: 256 * 1024 });
    const [unitsOut = '', containersOut = ''] = r.stdout.split(`${CONTAINERS_MARK}\n`);
    return { name: host.name, reachable: true, units: parseUnits(unitsOut), containers: parseContainers(containersOut) };
  } catch (e) {
    return { name: host.name, reachable: false, error: errorText(e), units: [], containers: [] };
  }
}

const clip = (v: string): string => (v.length > CLUSTER_VIEW_LIMITS.valueChars ? `${v.slice(0, CLUSTER_VIEW_LIMITS.valueChars - 1)}…` : v);

/** TTLs of the distinct leases among entries, asked once each. */
async function ttls(src: ClusterSource, via: TargetHost, entries: readonly RangeEntry[]): Promise<Map<string, number | null>> {
  const leases = [...new Set(entries.map((e) => e.lease).filter((l) => l !== '0'))];
  const out = new Map<string, number | null>();
  await Promise.all(
    leases.map(async (l) => {
      out.set(l, await src.etcd.ttl(via, l).catch(() => null));
    }),
  );
  return out;
}

async function readPrefix(src: ClusterSource, via: TargetHost, prefix: string): Promise<PrefixView> {
  try {
    const { entries, more } = await src.etcd.range(via, prefix, CLUSTER_VIEW_LIMITS.keysPerPrefix);
    const t = await ttls(src, via, entries);
    const keys: KeyView[] = entries.map((e) => ({ key: e.key, value: clip(e.value), ttl: e.lease === '0' ? null : (t.get(e.lease) ?? null) }));
    return { prefix, keys, truncated: more };
  } catch (e) {
    return { prefix, keys: [], truncated: false, error: `etcd is not answering: ${errorText(e)}` };
  }
}

async function readOverlay(src: ClusterSource, via: TargetHost, prefix: string): Promise<OverlayView> {
  try {
    const { entries } = await src.etcd.range(via, `${prefix}/`, 100);
    const config = entries.find((e) => e.key === `${prefix}/config`);
    let network: string | null = null;
    try {
      const n = config ? (JSON.parse(config.value) as { Network?: unknown }).Network : undefined;
      network = typeof n === 'string' ? n : null;
    } catch {
      network = null;
    }
    const subnetsPrefix = `${prefix}/subnets/`;
    const subnetEntries = entries.filter((e) => e.key.startsWith(subnetsPrefix));
    const t = await ttls(src, via, subnetEntries);
    const leaseOf = new Map(subnetEntries.map((e) => [e.key, e.lease]));
    const leases = parseLeases(new Map(subnetEntries.map((e) => [e.key, e.value])), subnetsPrefix).map((l) => {
      const lease = leaseOf.get(l.key) ?? '0';
      return { subnet: l.subnet.text, host: src.hosts.find((h) => h.address === l.publicIp)?.name ?? null, ttl: lease === '0' ? null : (t.get(lease) ?? null) };
    });
    return { prefix, network, leases };
  } catch (e) {
    return { prefix, network: null, leases: [], error: `etcd is not answering: ${errorText(e)}` };
  }
}

async function readEtcd(src: ClusterSource, statuses: readonly (MemberStatus | null)[], via: TargetHost | undefined): Promise<EtcdClusterView> {
  if (!via) return { members: [], leader: null, raftTerm: null, error: 'no etcd member is answering' };
  const upIds = new Set(statuses.flatMap((s) => (s ? [s.memberId] : [])));
  // The leader most answering members name (they agree unless an election is under way).
  const votes = new Map<string, number>();
  for (const s of statuses) if (s && s.leader !== '0') votes.set(s.leader, (votes.get(s.leader) ?? 0) + 1);
  const leaderId = [...votes].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  const terms = statuses.flatMap((s) => (s ? [s.raftTerm] : []));
  const raftTerm = terms.length > 0 ? Math.max(...terms) : null;
  try {
    const members = await src.etcd.members(via);
    const hostOf = (urls: readonly string[]): string | null => src.hosts.find((h) => urls.some((u) => new URL(u).hostname === h.address))?.name ?? null;
    // Listed in the lab's host order (etcd lists members by their random IDs, which reorders the tab
    // from one environment to the next); members on no lab host come last.
    const rank = (host: string | null): number => (host === null ? src.hosts.length : src.hosts.findIndex((h) => h.name === host));
    const views = members
      .map((m) => ({ name: m.name || '(not started)', host: hostOf(m.clientUrls), up: upIds.has(m.id), leader: m.id === leaderId }))
      .sort((a, b) => rank(a.host) - rank(b.host));
    const leader = views.find((m) => m.leader);
    return { members: views, leader: leader ? (leader.host ?? leader.name) : null, raftTerm };
  } catch (e) {
    return { members: [], leader: null, raftTerm, error: `cannot list members: ${errorText(e)}` };
  }
}

export async function readCluster(src: ClusterSource, view: ResolvedClusterView, now: () => number = Date.now): Promise<ClusterSnapshot> {
  const command = hostCommand(view);
  const needEtcd = view.etcd || view.keys.length > 0 || view.overlay !== null;
  const [hosts, statuses] = await Promise.all([
    Promise.all(src.hosts.map((h) => readHost(src, h, command))),
    needEtcd ? Promise.all(src.hosts.map((h) => src.etcd.status(h).catch(() => null))) : Promise.resolve([]),
  ]);
  const via = src.hosts.find((_, i) => statuses[i]);
  const [etcd, prefixes, overlay] = await Promise.all([
    view.etcd ? readEtcd(src, statuses, via) : Promise.resolve(undefined),
    Promise.all(view.keys.map((p) => (via ? readPrefix(src, via, p) : Promise.resolve<PrefixView>({ prefix: p, keys: [], truncated: false, error: 'no etcd member is answering' })))),
    view.overlay === null ? Promise.resolve(undefined) : via ? readOverlay(src, via, view.overlay) : Promise.resolve<OverlayView>({ prefix: view.overlay, network: null, leases: [], error: 'no etcd member is answering' }),
  ]);
  return { at: now(), hosts, prefixes, ...(etcd ? { etcd } : {}), ...(overlay ? { overlay } : {}) };
}
