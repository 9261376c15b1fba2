// etcd as the Cluster tab reads it: one client per member (a status request must reach that member,
// not whichever one a pooled client picks), each call bounded by a short deadline, each member
// reached through its host's SSH connection.
import { Etcd3 } from 'etcd3';
import type { TargetHost } from '../checks/check-target.ts';
import { grpcTarget } from '../checks/env-target.ts';

export interface MemberStatus {
  memberId: string;
  /** Member id of the leader as this member sees it ("0" when it knows none). */
  leader: string;
  raftTerm: number;
}

export interface MemberInfo {
  id: string;
  name: string;
  clientUrls: string[];
}

export interface RangeEntry {
  key: string;
  value: string;
  /** Lease id, "0" for none. */
  lease: string;
}

/** What the cluster reader needs from etcd; an interface so that it runs the same on a fake. */
export interface ClusterEtcd {
  status(host: TargetHost): Promise<MemberStatus>;
  /** Asked of `via` (a member that answered its status). */
  members(via: TargetHost): Promise<MemberInfo[]>;
  range(via: TargetHost, prefix: string, limit: number): Promise<{ entries: RangeEntry[]; more: boolean }>;
  /** Remaining TTL of a lease in seconds, or null when it has expired. */
  ttl(via: TargetHost, lease: string): Promise<number | null>;
  close(): void;
}

/** A deadline per call: a member that is down costs at most this, never the snapshot. */
const CALL_MS = 1500;

/** `socketOf(host)`: a local socket reaching that host's etcd client port (CheckTarget.etcdSocket). */
export function etcdForHosts(socketOf: (host: string) => string): ClusterEtcd {
  const clients = new Map<string, Etcd3>();
  const client = (h: TargetHost): Etcd3 => {
    let c = clients.get(h.name);
    if (!c) {
      c = new Etcd3({
        hosts: grpcTarget(socketOf(h.name)),
        dialTimeout: 1000,
        defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_MS }),
      });
      clients.set(h.name, c);
    }
    return c;
  };
  return {
    async status(h) {
      const s = await client(h).maintenance.status();
      return { memberId: s.header.member_id, leader: s.leader, raftTerm: Number(s.raftTerm) };
    },
    async members(via) {
      const r = await client(via).cluster.memberList({});
      return r.members.map((m) => ({ id: m.ID, name: m.name, clientUrls: m.clientURLs }));
    },
    async range(via, prefix, limit) {
      const r = await client(via).getAll().prefix(prefix).limit(limit).exec();
      return {
        entries: r.kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString(), lease: kv.lease })),
        more: r.more,
      };
    },
    async ttl(via, lease) {
      const r = await client(via).leaseClient.leaseTimeToLive({ ID: lease });
      const ttl = Number(r.TTL);
      return ttl >= 0 ? ttl : null;
    },
    close() {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}
