// The live cluster view: what a lab asks to be drawn (front matter `cluster:`) and the snapshot the
// server reads from the real cluster and pushes to the page's Cluster tab every couple of seconds.
import type { LabMeta } from './lab.ts';

/** At most this many key prefixes, unit names and keys per prefix: the view is a picture, not a dump. */
export const CLUSTER_VIEW_LIMITS = { prefixes: 4, units: 12, keysPerPrefix: 40, valueChars: 120 } as const;

/** What the lab's front matter declares under `cluster:` (every field optional there). */
export interface ClusterViewSpec {
  /** etcd members, which one leads, the raft term. Default: on when `services.etcd` is `cluster`. */
  etcd?: boolean;
  /** Key prefixes whose keys are listed with their values and lease TTLs. */
  keys?: string[];
  /** The overlay's etcd prefix (flannel layout), e.g. /coreos.com/network: subnet leases per host. */
  overlay?: string;
  /** systemd unit names or patterns (`web@*.service`) shown per host with their state. */
  units?: string[];
  /** Docker containers per host. Default: on when `services.docker` is true. */
  containers?: boolean;
}

/** The spec with defaults filled in from the lab's services. */
export interface ResolvedClusterView {
  etcd: boolean;
  keys: string[];
  overlay: string | null;
  units: string[];
  containers: boolean;
}

export function resolveClusterView(meta: Pick<LabMeta, 'services' | 'cluster'>): ResolvedClusterView {
  const c = meta.cluster ?? {};
  return {
    etcd: c.etcd ?? meta.services.etcd === 'cluster',
    keys: c.keys ?? [],
    overlay: c.overlay ?? null,
    units: c.units ?? [],
    containers: c.containers ?? meta.services.docker,
  };
}

export interface ClusterUnit {
  name: string;
  /** systemd ActiveState: active, inactive, failed, activating, … */
  active: string;
  /** systemd SubState: running, exited, dead, … */
  sub: string;
}

export interface ClusterContainer {
  name: string;
  image: string;
  /** running, exited, created, … */
  state: string;
  /** Docker's human status, e.g. "Up 3 minutes". */
  status: string;
}

export interface ClusterHostView {
  name: string;
  /** The server reached the host over SSH for this snapshot. */
  reachable: boolean;
  /** Why the host or one of its readings could not be read. */
  error?: string;
  units: ClusterUnit[];
  containers: ClusterContainer[];
}

export interface EtcdMemberView {
  /** The member's name (etcd --name), or "(not started)". */
  name: string;
  /** The lab host whose address the member serves clients on, when one matches. */
  host: string | null;
  /** The member answered a status request for this snapshot. */
  up: boolean;
  leader: boolean;
}

export interface EtcdClusterView {
  members: EtcdMemberView[];
  /** Host (or member name) of the leader, as the answering members see it; null when none is known. */
  leader: string | null;
  raftTerm: number | null;
  /** Set when etcd could not be read at all (every member down, no quorum for the member list…). */
  error?: string;
}

export interface KeyView {
  key: string;
  value: string;
  /** Remaining lease TTL in seconds; null for a key without a lease. */
  ttl: number | null;
}

export interface PrefixView {
  prefix: string;
  keys: KeyView[];
  /** More keys exist than are shown. */
  truncated: boolean;
  error?: string;
}

export interface OverlayLeaseView {
  subnet: string;
  /** The host the lease was taken for (by its address), when one matches. */
  host: string | null;
  ttl: number | null;
}

export interface OverlayView {
  prefix: string;
  /** The `Network` of `<prefix>/config`, or null when there is no valid config yet. */
  network: string | null;
  leases: OverlayLeaseView[];
  error?: string;
}

export interface ClusterSnapshot {
  /** Server time of the reading (ms since the epoch). */
  at: number;
  hosts: ClusterHostView[];
  etcd?: EtcdClusterView;
  prefixes: PrefixView[];
  overlay?: OverlayView;
}
