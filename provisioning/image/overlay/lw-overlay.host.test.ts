// lw-overlay on real hosts: leases in flannel's layout, routes between hosts, a restart keeping its subnet,
// a clean stop (lease, device and iptables rules gone), a lost lease taken back, and a killed agent's lease expiring.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '../../provider.ts';
import type { LocalProvider } from '../../local/local-provider.ts';
import { canRunHosts, sshRun, testProvider } from '../../testing/host-test-support.ts';

const CONFIG = '{"Network":"10.2.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan"}}';
const SUBNETS = '/coreos.com/network/subnets/';

async function ok(env: Environment, host: string, command: string): Promise<string> {
  const r = await sshRun(env, host, command);
  if (r.code !== 0) throw new Error(`${host}: \`${command}\` exited ${r.code}: ${r.stdout}`);
  return r.stdout.trim();
}

/** The overlay's leases in etcd: subnet key suffix (e.g. 10.2.7.0-24) → value. */
async function leases(env: Environment): Promise<Map<string, { PublicIP: string; BackendData: { VtepMAC: string } }>> {
  const out = await ok(env, 'host0', `etcdctl get --prefix ${SUBNETS}`);
  const lines = out.split('\n').filter(Boolean);
  const m = new Map<string, { PublicIP: string; BackendData: { VtepMAC: string } }>();
  for (let i = 0; i + 1 < lines.length; i += 2) m.set(lines[i]!.slice(SUBNETS.length), JSON.parse(lines[i + 1]!) as { PublicIP: string; BackendData: { VtepMAC: string } });
  return m;
}

const subnetOf = async (env: Environment, host: string): Promise<string> =>
  (await ok(env, host, '. /run/lw-overlay/subnet.env && echo "$FLANNEL_SUBNET"')).replace(/\.1\/24$/, '.0-24');

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(!canRunHosts)('lw-overlay agent on two hosts', () => {
  let provider: LocalProvider;
  let env: Environment;

  beforeAll(async () => {
    provider = await testProvider();
    env = await provider.create({ hosts: ['host0', 'host1'], services: { etcd: 'cluster', docker: false }, owner: 'test' });
    await ok(env, 'host0', `etcdctl put /coreos.com/network/config '${CONFIG}'`);
    // A TTL shorter than the default 60 s so that renewal shows within the test, yet long enough that a
    // loaded CI machine (renewal every TTL/3) never lets a live agent's lease lapse.
    for (const h of ['host0', 'host1']) {
      await ok(env, h, 'mkdir -p /run/systemd/system/lw-overlay.service.d && printf "[Service]\\nEnvironment=LW_OVERLAY_TTL=30\\n" > /run/systemd/system/lw-overlay.service.d/ttl.conf && systemctl daemon-reload && systemctl start lw-overlay');
    }
  });

  afterAll(async () => {
    if (env) await provider.destroy(env);
  });

  it('takes one disjoint /24 per host inside the network, with its address and vxlan MAC', async () => {
    // Each agent takes its lease as it starts: host1's may come a moment after host0 is ready.
    await until('both hosts to hold a lease', async () => (await leases(env)).size === 2);
    const m = await leases(env);
    expect(m.size).toBe(2);
    const s0 = await subnetOf(env, 'host0');
    const s1 = await subnetOf(env, 'host1');
    expect(s0).not.toBe(s1);
    expect(s0).toMatch(/^10\.2\.\d+\.0-24$/);
    expect(m.get(s0)?.PublicIP).toBe(env.hosts[0]!.address);
    expect(m.get(s1)?.PublicIP).toBe(env.hosts[1]!.address);
    expect(m.get(s1)?.BackendData.VtepMAC).toBe(await ok(env, 'host1', 'cat /sys/class/net/lw.1/address'));
    expect(await ok(env, 'host0', 'cat /run/lw-overlay/docker.env')).toMatch(/^DOCKER_OPTS="--bip=10\.2\.\d+\.1\/24 --mtu=\d+ --ip-masq=false"$/);
  });

  it('routes to the other host\'s lease through the tunnel, and the tunnel carries traffic', async () => {
    const s1 = (await subnetOf(env, 'host1')).replace('-', '/');
    // Each agent syncs its routes with etcd every 2 s: host0 may have started before host1 took its lease.
    await until('host0 to route to host1', async () => (await ok(env, 'host0', 'ip -4 route show dev lw.1')).includes(`${s1} via ${s1.replace('/24', '')}`));
    // host1's end of the tunnel holds the network address of its lease: reachable from host0 only through vxlan.
    await ok(env, 'host0', `ping -c1 -W2 ${s1.replace('/24', '')}`);
  });

  it('keeps its subnet across a restart', async () => {
    const before = await subnetOf(env, 'host1');
    await ok(env, 'host1', 'systemctl restart lw-overlay');
    expect(await subnetOf(env, 'host1')).toBe(before);
    expect([...(await leases(env)).keys()]).toContain(before);
  });

  it('takes its lease back when the key is deleted', async () => {
    const s1 = await subnetOf(env, 'host1');
    await ok(env, 'host0', `etcdctl del ${SUBNETS}${s1}`);
    await until('the lease to be renewed', async () => (await leases(env)).has(s1), 45_000);
  });

  it('releases everything on stop: lease key, device, iptables rules, and the peer\'s route', async () => {
    const s1 = await subnetOf(env, 'host1');
    await ok(env, 'host1', 'systemctl stop lw-overlay');
    expect((await leases(env)).has(s1)).toBe(false);
    expect((await sshRun(env, 'host1', 'ip link show lw.1')).code).not.toBe(0);
    expect(await ok(env, 'host1', 'iptables-save | grep -c LW-OVERLAY || true')).toBe('0');
    await until('host0 to drop the route', async () => !(await ok(env, 'host0', 'ip -4 route show dev lw.1')).includes(s1.replace('-', '/')));
  });

  it('lets a killed agent\'s lease expire after its TTL', async () => {
    // Run by hand so that systemd does not restart it; kill -9 leaves no chance to clean up.
    await ok(env, 'host1', 'rm -f /run/lw-overlay/ready; LW_OVERLAY_TTL=9 nohup /usr/local/bin/lw-overlay >/tmp/agent.log 2>&1 < /dev/null & echo $! > /tmp/agent.pid; until [ -e /run/lw-overlay/ready ]; do sleep 0.2; done');
    const s1 = await subnetOf(env, 'host1');
    expect((await leases(env)).has(s1)).toBe(true);
    await ok(env, 'host1', 'kill -KILL "$(cat /tmp/agent.pid)"');
    await until('the lease to expire', async () => !(await leases(env)).has(s1), 40_000);
  });

  it('after a crash, takes over its own stale lease and keeps its subnet', async () => {
    const start = 'rm -f /run/lw-overlay/ready; LW_OVERLAY_TTL=30 nohup /usr/local/bin/lw-overlay >/tmp/agent.log 2>&1 < /dev/null & echo $! > /tmp/agent.pid; until [ -e /run/lw-overlay/ready ]; do sleep 0.2; done';
    await ok(env, 'host1', start);
    const s1 = await subnetOf(env, 'host1');
    await ok(env, 'host1', 'kill -KILL "$(cat /tmp/agent.pid)"');
    await ok(env, 'host1', start);
    expect(await subnetOf(env, 'host1')).toBe(s1);
    expect((await leases(env)).get(s1)?.PublicIP).toBe(env.hosts[1]!.address);
    await ok(env, 'host1', 'kill -TERM "$(cat /tmp/agent.pid)"');
    await until('the lease to be released', async () => !(await leases(env)).has(s1), 10_000);
  });
});
