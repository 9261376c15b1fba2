// The cluster reader on fakes: what one snapshot says about hosts, etcd members, keys and leases,
// and what it says when a host or etcd does not answer (never a thrown error).
import { describe, expect, it } from 'vitest';
import { resolveClusterView } from '../../common/cluster-view.ts';
import type { TargetHost } from '../checks/check-target.ts';
import { SshError } from '../ssh/ssh-connection.ts';
import type { ExecResult } from '../ssh/ssh-connection.ts';
import type { ClusterEtcd, MemberStatus } from './cluster-etcd.ts';
import { hostCommand, parseContainers, parseUnits, readCluster } from './cluster-reader.ts';

const hosts: TargetHost[] = [
  { name: 'host0', address: '10.9.0.10' },
  { name: 'host1', address: '10.9.0.11' },
  { name: 'host2', address: '10.9.0.12' },
];
const ids: Record<string, string> = { host0: '100', host1: '101', host2: '102' };

function fakeEtcd(opts: { down?: string[]; leader?: string; terms?: Record<string, number>; keys?: Record<string, { value: string; lease: string }>; ttls?: Record<string, number> }): ClusterEtcd & { ttlCalls: string[] } {
  const ttlCalls: string[] = [];
  return {
    ttlCalls,
    status(h): Promise<MemberStatus> {
      if (opts.down?.includes(h.name)) return Promise.reject(new Error('connect ECONNREFUSED'));
      return Promise.resolve({ memberId: ids[h.name]!, leader: ids[opts.leader ?? 'host1']!, raftTerm: opts.terms?.[h.name] ?? 4 });
    },
    members() {
      // etcd lists members by their (random) IDs, not in the lab's host order.
      return Promise.resolve([...hosts].reverse().map((h) => ({ id: ids[h.name]!, name: h.name, clientUrls: [`http://${h.address}:2379`] })));
    },
    range(_via, prefix, limit) {
      const entries = Object.entries(opts.keys ?? {})
        .filter(([k]) => k.startsWith(prefix))
        .map(([key, v]) => ({ key, ...v }));
      return Promise.resolve({ entries: entries.slice(0, limit), more: entries.length > limit });
    },
    ttl(_via, lease) {
      ttlCalls.push(lease);
      return Promise.resolve(opts.ttls?.[lease] ?? null);
    },
    close() {},
  };
}

const view = resolveClusterView({ services: { etcd: 'cluster', docker: true }, cluster: { keys: ['/services/'], overlay: '/coreos.com/network', units: ['web@*.service'] } });

const answer = (stdout: string): Promise<ExecResult> => Promise.resolve({ code: 0, signal: null, stdout, stderr: '', truncated: false });
const unitsOut = 'web@1.service loaded active running Web 1\nweb@2.service loaded failed failed Web 2\n';
const containersOut = JSON.stringify([{ Names: ['/db'], Image: 'redis:7', State: 'running', Status: 'Up 3 minutes' }]);

describe('readCluster', () => {
  it('names the leader host, the highest raft term, each member up or down, units and containers per host', async () => {
    const etcd = fakeEtcd({ down: ['host2'], leader: 'host1', terms: { host0: 5, host1: 6 } });
    const snap = await readCluster(
      {
        hosts,
        etcd,
        exec: (host) => (host === 'host2' ? Promise.reject(new SshError('unreachable', 'connect EHOSTUNREACH')) : answer(`${unitsOut}--labwright-containers--\n${containersOut}`)),
      },
      view,
      () => 42,
    );
    expect(snap.at).toBe(42);
    expect(snap.etcd).toMatchObject({ leader: 'host1', raftTerm: 6 });
    expect(snap.etcd?.members.map((m) => [m.host, m.up, m.leader])).toEqual([
      ['host0', true, false],
      ['host1', true, true],
      ['host2', false, false],
    ]);
    expect(snap.hosts[0]).toMatchObject({ reachable: true, units: [{ name: 'web@1.service', active: 'active', sub: 'running' }, { name: 'web@2.service', active: 'failed' }], containers: [{ name: 'db', image: 'redis:7', state: 'running' }] });
    expect(snap.hosts[2]).toMatchObject({ name: 'host2', reachable: false, units: [], containers: [] });
    expect(snap.hosts[2]?.error).toMatch(/EHOSTUNREACH/);
  });

  it('lists keys under a prefix with the TTL of their lease, asking each lease once, and overlay leases by host', async () => {
    const etcd = fakeEtcd({
      keys: {
        '/services/web/a': { value: '10.9.0.10:8080', lease: '7' },
        '/services/web/b': { value: '10.9.0.11:8080', lease: '7' },
        '/services/config': { value: 'x', lease: '0' },
        '/coreos.com/network/config': { value: '{"Network":"10.2.0.0/16"}', lease: '0' },
        '/coreos.com/network/subnets/10.2.5.0-24': { value: '{"PublicIP":"10.9.0.11"}', lease: '9' },
      },
      ttls: { '7': 17, '9': 80 },
    });
    const snap = await readCluster({ hosts, etcd, exec: () => answer('') }, view);
    expect(snap.prefixes[0]?.keys).toEqual([
      { key: '/services/web/a', value: '10.9.0.10:8080', ttl: 17 },
      { key: '/services/web/b', value: '10.9.0.11:8080', ttl: 17 },
      { key: '/services/config', value: 'x', ttl: null },
    ]);
    expect(etcd.ttlCalls.filter((l) => l === '7')).toHaveLength(1);
    expect(snap.overlay).toEqual({ prefix: '/coreos.com/network', network: '10.2.0.0/16', leases: [{ subnet: '10.2.5.0/24', host: 'host1', ttl: 80 }] });
  });

  it('with every etcd member down: says so in each part instead of failing the snapshot', async () => {
    const etcd = fakeEtcd({ down: ['host0', 'host1', 'host2'] });
    const snap = await readCluster({ hosts, etcd, exec: () => answer('') }, view);
    expect(snap.etcd).toMatchObject({ members: [], leader: null, error: 'no etcd member is answering' });
    expect(snap.prefixes[0]?.error).toBe('no etcd member is answering');
    expect(snap.overlay?.error).toBe('no etcd member is answering');
    expect(snap.hosts.every((h) => h.reachable)).toBe(true);
  });
});

describe('hostCommand', () => {
  it('quotes unit patterns, asks Docker through its API socket, and is the builtin `true` with nothing to list', () => {
    const cmd = hostCommand(view);
    expect(cmd).toContain("-- 'web@*.service'");
    expect(cmd).toContain('--unix-socket /var/run/docker.sock');
    expect(hostCommand(resolveClusterView({ services: { etcd: 'cluster', docker: false } }))).toBe('true');
  });

  it('parses systemctl rows (a unit without a file is not-found) and ignores junk from Docker', () => {
    expect(parseUnits('nope.service not-found inactive dead nope.service\n\n')).toEqual([{ name: 'nope.service', active: 'not-found', sub: 'dead' }]);
    expect(parseContainers('curl: (7) Failed to connect')).toEqual([]);
    expect(parseContainers('{"message":"page not found"}')).toEqual([]);
  });
});
