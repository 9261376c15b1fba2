// Checks reach the hosts only through their SSH connections, on real hosts: host0's etcd and http
// ports are firewalled from the server (open on its loopback), host1 is an inventory host the server
// reaches only through host0 as its jump host — etcd checks, the Cluster tab's etcd read and
// `http` checks made `from: server` still work. One environment of two local nspawn hosts, destroyed afterwards.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckSpec } from '../../common/checks.ts';
import { checkSchemas } from '../../common/checks.ts';
import { resolveClusterView } from '../../common/cluster-view.ts';
import { loadInventory } from '../../provisioning/inventory/inventory-file.ts';
import { InventoryProvider } from '../../provisioning/inventory/inventory-provider.ts';
import type { LocalProvider } from '../../provisioning/local/local-provider.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { canRunHosts, sshRun, testProvider } from '../../provisioning/testing/host-test-support.ts';
import { etcdForHosts } from '../cluster/cluster-etcd.ts';
import { readCluster } from '../cluster/cluster-reader.ts';
import { SshPool } from '../ssh/ssh-pool.ts';
import { runCheck } from './check-engine.ts';
import type { CheckTarget } from './check-target.ts';
import { EtcdClients, WarmShells, environmentTarget } from './env-target.ts';

function check<K extends keyof typeof checkSchemas>(kind: K, raw: unknown): CheckSpec {
  return { kind, line: 0, spec: checkSchemas[kind].parse(raw) } as CheckSpec;
}

/** Whether a TCP connection to address:port opens within a second. */
function opens(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port, timeout: 1000 });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('timeout', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(false));
  });
}

describe.skipIf(!canRunHosts)('checks through the hosts’ SSH connections only', () => {
  let local: LocalProvider;
  let made: Environment | undefined;
  let dir: string;
  let env: Environment;
  const pool = new SshPool();
  const etcdClients = new EtcdClients();
  const warm = new WarmShells();
  let t: CheckTarget;

  beforeAll(async () => {
    local = await testProvider();
    made = await local.create({ hosts: ['host0', 'host1'], services: { etcd: 'cluster', docker: false }, owner: 'only-sshd test' });
    const [h0, h1] = made.hosts;
    // The server as the hosts see it; the walls are against that address only (peers talk on).
    const server = (await sshRun(made, 'host0', 'echo "${SSH_CONNECTION%% *}"')).stdout.trim();
    expect(server).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // nginx on port 80 of both; on host1 also a page served on its loopback only (port 8081).
    const web = 'systemctl start nginx && mkdir -p /srv/lo && echo loopback-only > /srv/lo/index.html && busybox httpd -p 127.0.0.1:8081 -h /srv/lo';
    expect((await sshRun(made, 'host0', `${web} && iptables -I INPUT -p tcp -m multiport --dports 80,2379 -s ${server} -j DROP && echo ok`)).stdout.trim()).toBe('ok');
    // The last command this test runs on host1 directly: from now on only host0 reaches it.
    expect((await sshRun(made, 'host1', `${web} && iptables -I INPUT -p tcp -m multiport --dports 22,80,2379 -s ${server} -j DROP && echo ok`)).stdout.trim()).toBe('ok');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-only-sshd-'));
    const file = path.join(dir, 'inventory.yaml');
    fs.writeFileSync(
      file,
      [
        `defaults: { key: ${made.privateKeyPath}, user: root }`,
        'environments:',
        '  - name: walled',
        '    hosts:',
        `      - { name: host0, address: ${h0!.address} }`,
        `      - { name: host1, address: ${h1!.address}, jump: { address: ${h0!.address} } }`,
      ].join('\n'),
    );
    const inventory = new InventoryProvider(loadInventory(file), { dataDir: dir });
    env = await inventory.create({ hosts: ['host0', 'host1'], services: { etcd: 'cluster', docker: false }, owner: 'test' });
    t = environmentTarget(env, pool, etcdClients, warm);
  }, 300_000);

  afterAll(async () => {
    etcdClients.closeAll();
    warm.closeAll();
    pool.closeAll();
    if (made) await local.destroy(made);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the walls hold: neither host’s etcd or http port, nor host1’s sshd, opens from the server', async () => {
    const [h0, h1] = env.hosts;
    for (const port of [80, 2379]) {
      expect(await opens(h0!.address, port)).toBe(false);
      expect(await opens(h1!.address, port)).toBe(false);
    }
    expect(await opens(h1!.address, 22)).toBe(false);
  });

  it('passes `http` checks made from the server (by name and by address) through each host’s SSH connection', async () => {
    const [h0, h1] = env.hosts;
    const results = await Promise.all([
      runCheck(t, check('http', { url: 'http://host0/', body: 'nginx' })),
      runCheck(t, check('http', { url: `http://${h1!.address}/`, body: 'nginx' })),
      runCheck(t, check('http', { url: 'http://host1/nope', status: 404 })),
    ]);
    expect(results.map((r) => r.map((x) => x.status))).toEqual([['pass'], ['pass'], ['pass']]);
    expect(h0!.address).not.toBe(h1!.address);
  });

  it('from the server still means the host’s address: a page on its loopback only, or a closed port, fails; a host that cannot be reached is an error', async () => {
    const lo = await runCheck(t, check('http', { url: 'http://host1:8081/' }));
    expect(lo.map((r) => [r.status, r.actual])).toEqual([['fail', 'nothing (host1:8081: Connection refused)']]);
    // The same page is there for a request from the host itself.
    expect((await runCheck(t, check('http', { from: 'host1', url: 'http://127.0.0.1:8081/', body: 'loopback-only' }))).map((r) => r.status)).toEqual(['pass']);
    const deadEnv: Environment = { ...env, id: `${env.id}-dead`, hosts: env.hosts.map((h) => ({ ...h, address: '127.0.0.1', port: 9, jump: undefined })) };
    const dead = environmentTarget(deadEnv, pool, etcdClients, warm);
    const r = await runCheck(dead, check('http', { url: 'http://host0/', timeout: 5000 }));
    expect(r.map((x) => [x.status, x.actual])).toEqual([['error', expect.stringContaining('host0 (127.0.0.1) is unreachable') as string]]);
  });

  it('passes etcd key checks and the etcd-cluster check (status, a replicated write) on both members', async () => {
    const put = await t.exec('host1', 'etcdctl put /over-ssh walled', { timeoutMs: 20_000, signal: AbortSignal.timeout(20_000) });
    expect(put.stdout.trim()).toBe('OK');
    const key = await runCheck(t, check('etcd', { key: '/over-ssh', equals: 'walled' }));
    expect(key.map((r) => [r.status, r.message])).toEqual([['pass', expect.stringContaining('/over-ssh') as string]]);
    const cluster = await runCheck(t, check('etcd-cluster', { running: 2, leader: 'elected', replicated: true }));
    expect(cluster.map((r) => [r.host ?? '', r.status])).toEqual([
      ['', 'pass'],
      ['host0', 'pass'],
      ['host1', 'pass'],
    ]);
  });

  it('the Cluster tab reads both members, their leader and term', async () => {
    const etcd = etcdForHosts((host) => t.etcdSocket(host));
    try {
      const view = resolveClusterView({ services: { etcd: 'cluster', docker: false }, cluster: { keys: ['/over-ssh'] } });
      const s = await readCluster({ hosts: t.hosts, exec: (h, c, o) => t.exec(h, c, o), etcd }, view);
      expect(s.etcd?.members.map((m) => [m.host, m.up])).toEqual([
        ['host0', true],
        ['host1', true],
      ]);
      expect(['host0', 'host1']).toContain(s.etcd?.leader);
      expect(s.prefixes[0]?.keys).toEqual([{ key: '/over-ssh', value: 'walled', ttl: null }]);
    } finally {
      etcd.close();
    }
  });
});
