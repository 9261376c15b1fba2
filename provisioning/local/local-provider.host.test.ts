// The acceptance scenario on real nspawn hosts: three hosts with etcd and Docker, used through the
// real ssh client, then destroyed without leaving a process, mount, link, cgroup or file behind.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '../provider.ts';
import { firstMember } from './host-files.ts';
import { leftoversOf } from './leftovers.ts';
import type { LocalProvider } from './local-provider.ts';
import { readState } from './state.ts';
import { canRunHosts, sshRun, testConfig, testProvider } from '../testing/host-test-support.ts';

describe.skipIf(!canRunHosts)('local provider: 3 hosts with etcd and docker', () => {
  let provider: LocalProvider;
  let env: Environment;
  const phases = new Set<string>();

  beforeAll(async () => {
    provider = await testProvider();
    env = await provider.create(
      { hosts: ['host0', 'host1', 'host2'], services: { etcd: 'cluster', docker: true }, owner: 'test' },
      { onProgress: (p) => phases.add(p.phase) },
    );
  });

  afterAll(async () => {
    if (env) await provider.destroy(env);
  });

  it('reports progress through network, boot and readiness', () => {
    expect([...phases]).toEqual(expect.arrayContaining(['network', 'boot', 'services', 'ready']));
  });

  it('gives each host its own name and a running systemd', async () => {
    for (const h of env.hosts) {
      const r = await sshRun(env, h.name, 'hostname; systemctl is-system-running');
      expect(r.stdout.trim().split('\n')).toEqual([h.name, 'running']);
    }
  });

  it('runs a healthy three-member etcd cluster', async () => {
    const r = await sshRun(env, 'host1', 'etcdctl endpoint health --cluster 2>&1');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/is healthy/g)).toHaveLength(3);
    const put = await sshRun(env, 'host0', 'etcdctl put /t from-host0 >/dev/null && echo put');
    expect(put.stdout.trim()).toBe('put');
    expect((await sshRun(env, 'host2', 'etcdctl get --print-value-only /t')).stdout.trim()).toBe('from-host0');
  });

  it("starts the other members' etcd only once the first member serves its peers (none waits out the others' bootstrap check)", async () => {
    const first = env.hosts.find((h) => h.address === firstMember(env.hosts))!;
    const listening = await sshRun(env, first.name, "journalctl -u etcd -o short-monotonic --no-pager | grep -m1 'listening for peers' | sed -E 's/^\\[ *([0-9.]+)\\].*/\\1/'");
    const servedAt = Number(listening.stdout.trim()) * 1e6;
    expect(servedAt).toBeGreaterThan(0);
    for (const h of env.hosts.filter((x) => x !== first)) {
      const started = Number((await sshRun(env, h.name, 'systemctl show etcd -p ExecMainStartTimestampMonotonic --value')).stdout.trim());
      expect(started).toBeGreaterThan(servedAt);
    }
  });

  it('starts the services the lab declares, and none of the boot-only units a lab host does not need', async () => {
    const r = await sshRun(env, 'host0', 'systemctl is-active etcd.service docker.service containerd.service ssh.service systemd-networkd.service; systemctl get-default; systemctl is-enabled systemd-update-utmp.service systemd-journal-flush.service systemd-sysctl.service systemd-tmpfiles-setup-dev.service');
    expect(r.stdout.trim().split('\n')).toEqual(['active', 'active', 'active', 'active', 'active', 'multi-user.target', 'masked', 'masked', 'masked', 'masked']);
  });

  it("starts networkd and journald without a per-service sandbox, and Docker's and etcd's Go daemons with GOGC=200", async () => {
    const r = await sshRun(env, 'host0', [
      // nspawn's own seccomp filters are on every process of the host; the sandbox would add its own and a read-only root.
      'for p in 1 $(pidof systemd-networkd) $(pidof systemd-journald); do echo $(grep ^Seccomp_filters: /proc/$p/status | cut -f2) $(findmnt -N $p -n -o OPTIONS / | cut -d, -f1); done | sort -u | wc -l',
      'for p in dockerd containerd etcd; do tr "\\0" "\\n" < /proc/$(pidof $p)/environ | grep ^GOGC=; done',
      'networkctl status host0 | grep -c routable',
    ].join('; '));
    expect(r.stdout.trim().split('\n')).toEqual(['1', 'GOGC=200', 'GOGC=200', 'GOGC=200', '1']);
  });

  it('boots without running systemd generators, and containerd without its Kubernetes (CRI) plugin', async () => {
    const r = await sshRun(env, 'host0', 'test -e /run/systemd/generator && echo generated || echo none; ctr plugins ls | grep -c io.containerd.grpc.v1.cri');
    expect(r.stdout.trim().split('\n')).toEqual(['none', '0']);
  });

  it("gives each host Docker's default bridge network of its own, with the NAT rule docker-basics shows", async () => {
    const out = await Promise.all(env.hosts.map(async (h) => (await sshRun(env, h.name, 'docker network inspect bridge -f "{{.Id}}"; iptables -t nat -S POSTROUTING')).stdout));
    expect(new Set(out.map((o) => o.split('\n')[0])).size).toBe(3);
    for (const o of out) expect(o).toContain('-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE');
  });

  it('runs containers from the built-in busybox image with no registry', async () => {
    const r = await sshRun(env, 'host2', 'docker run --rm busybox echo ok');
    expect(r.stdout.trim()).toBe('ok');
  });

  it('lets hosts reach each other by name', async () => {
    const r = await sshRun(env, 'host0', 'ping -c1 -W2 host2 >/dev/null && getent hosts host2');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(env.hosts[2]!.address);
  });

  it('keeps hosts off the server machine: a port listening on the bridge address is unreachable from a host', async () => {
    const st = await readState(testConfig.dataDir, env.id);
    const server = net.createServer((sock) => sock.end());
    await new Promise<void>((resolve) => server.listen(0, st!.bridgeAddress, resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const r = await sshRun(env, 'host0', `nc -z -w1 ${st!.bridgeAddress} ${port} && echo reached || echo blocked`);
      expect(r.stdout.trim()).toBe('blocked');
    } finally {
      server.close();
    }
  });

  it('keeps identities apart: machine-id and SSH host key differ per host', async () => {
    const ids = await Promise.all(env.hosts.map(async (h) => (await sshRun(env, h.name, 'cat /etc/machine-id /etc/ssh/ssh_host_ed25519_key.pub')).stdout));
    expect(new Set(ids).size).toBe(3);
  });

  it('lists the environment with its hosts (what a restarted server adopts)', async () => {
    const listed = (await provider.list()).find((e) => e.id === env.id);
    expect(listed?.hosts.map((h) => h.address)).toEqual(env.hosts.map((h) => h.address));
    expect(listed?.privateKey).toBe(env.privateKey);
  });

  it('destroys everything it created, and a second destroy is harmless', async () => {
    await provider.destroy(env);
    expect(await leftoversOf(testConfig.dataDir, env.id)).toEqual([]);
    await provider.destroy(env.id);
    expect((await provider.list()).some((e) => e.id === env.id)).toBe(false);
  });
});
