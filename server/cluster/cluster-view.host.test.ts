// The Cluster tab's reading against real hosts: etcd members, leader and raft term from etcd itself,
// a leased key's TTL, units and containers per host — and a leader stopped shows as down, with a new
// leader elected in a higher term. One environment, destroyed afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveClusterView } from '../../common/cluster-view.ts';
import type { ClusterSnapshot } from '../../common/cluster-view.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { canRunHosts, testProvider } from '../../provisioning/testing/host-test-support.ts';
import type { LocalProvider } from '../../provisioning/local/local-provider.ts';
import type { CheckTarget } from '../checks/check-target.ts';
import { EtcdClients, WarmShells, environmentTarget } from '../checks/env-target.ts';
import { SshPool } from '../ssh/ssh-pool.ts';
import type { ClusterEtcd } from './cluster-etcd.ts';
import { etcdForHosts } from './cluster-etcd.ts';
import { readCluster } from './cluster-reader.ts';

const view = resolveClusterView({ services: { etcd: 'cluster', docker: true }, cluster: { keys: ['/services/'], units: ['lwview-*.service'] } });

describe.skipIf(!canRunHosts)('cluster view on real hosts', () => {
  let provider: LocalProvider;
  let env: Environment;
  let t: CheckTarget;
  const pool = new SshPool();
  const etcdClients = new EtcdClients();
  const warm = new WarmShells();
  let etcd: ClusterEtcd;

  const sh = async (host: string, cmd: string): Promise<string> => {
    const r = await t.exec(host, cmd, { timeoutMs: 60_000, signal: AbortSignal.timeout(60_000) });
    if (r.code !== 0) throw new Error(`${host}: ${cmd}: exit ${r.code}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const read = (): Promise<ClusterSnapshot> => readCluster({ hosts: t.hosts, exec: (h, c, o) => t.exec(h, c, o), etcd }, view);
  async function until(pred: (s: ClusterSnapshot) => boolean, what: string): Promise<ClusterSnapshot> {
    let last = await read();
    for (let i = 0; i < 60 && !pred(last); i++) {
      await new Promise((r) => setTimeout(r, 500));
      last = await read();
    }
    if (!pred(last)) throw new Error(`${what}; last snapshot: ${JSON.stringify(last)}`);
    return last;
  }

  beforeAll(async () => {
    provider = await testProvider();
    env = await provider.create({ hosts: ['host0', 'host1', 'host2'], services: { etcd: 'cluster', docker: true }, owner: 'cluster-view test' });
    t = environmentTarget(env, pool, etcdClients, warm);
    etcd = etcdForHosts((host) => t.etcdSocket(host));
  });

  afterAll(async () => {
    etcd?.close();
    etcdClients.closeAll();
    warm.closeAll();
    pool.closeAll();
    if (env) await provider.destroy(env);
  });

  it('shows every member up, one leader among the hosts, a raft term, units, containers and a leased key with its TTL', async () => {
    await sh('host1', 'systemd-run --unit=lwview-web.service sleep 1000');
    await sh('host2', 'docker run -d --name viewtest busybox sleep 1000 >/dev/null');
    const lease = (await sh('host0', 'etcdctl lease grant 60')).match(/lease ([0-9a-f]+) granted/)?.[1];
    expect(lease).toBeDefined();
    await sh('host0', `etcdctl put --lease=${lease} /services/web/a 10.0.0.1:80 && etcdctl put /services/plain x`);

    const s = await until((x) => (x.etcd?.members.length ?? 0) === 3 && x.etcd?.leader !== null && x.hosts.every((h) => h.reachable), 'three members, a leader, every host read');
    expect(s.etcd?.members.map((m) => [m.host, m.up]).sort()).toEqual([
      ['host0', true],
      ['host1', true],
      ['host2', true],
    ]);
    expect(['host0', 'host1', 'host2']).toContain(s.etcd?.leader);
    expect(s.etcd?.raftTerm).toBeGreaterThanOrEqual(1);
    expect(s.hosts.map((h) => h.error ?? h.reachable)).toEqual([true, true, true]);
    expect(s.hosts[1]?.units).toEqual([{ name: 'lwview-web.service', active: 'active', sub: 'running' }]);
    expect(s.hosts[0]?.units).toEqual([]);
    expect(s.hosts[2]?.containers).toContainEqual(expect.objectContaining({ name: 'viewtest', image: 'busybox', state: 'running' }));
    const keys = s.prefixes[0]?.keys ?? [];
    expect(keys.find((k) => k.key === '/services/plain')).toEqual({ key: '/services/plain', value: 'x', ttl: null });
    const leased = keys.find((k) => k.key === '/services/web/a');
    expect(leased?.ttl).toBeGreaterThan(0);
    expect(leased?.ttl).toBeLessThanOrEqual(60);
  });

  it('a stopped leader shows as down, another member leads, and the raft term went up', async () => {
    const before = await until((x) => x.etcd?.leader !== null && x.etcd?.leader !== undefined, 'a leader');
    const oldLeader = before.etcd!.leader!;
    const oldTerm = before.etcd!.raftTerm!;
    await sh(oldLeader, 'systemctl stop etcd');
    const after = await until((x) => x.etcd?.leader !== null && x.etcd?.leader !== oldLeader && (x.etcd?.raftTerm ?? 0) > oldTerm, 'a new leader in a higher term');
    expect(after.etcd?.members.find((m) => m.host === oldLeader)).toMatchObject({ up: false, leader: false });
    expect(after.etcd?.members.filter((m) => m.up)).toHaveLength(2);
    await sh(oldLeader, 'systemctl start etcd');
  });
});
