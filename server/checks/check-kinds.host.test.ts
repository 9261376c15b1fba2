// Every check kind against real lab hosts: pass, fail and error. One environment (3 hosts, etcd
// cluster, docker) is shared by all kinds and destroyed afterwards, also when a test fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult, CheckSpec } from '../../common/checks.ts';
import { checkSchemas } from '../../common/checks.ts';
import { createLocalProvider } from '../../provisioning/local/local-provider.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { loadConfig } from '../config.ts';
import { SshPool } from '../ssh/ssh-pool.ts';
import { runCheck } from './check-engine.ts';
import type { CheckTarget } from './check-target.ts';
import { EtcdClients, WarmShells, environmentTarget } from './env-target.ts';

function check<K extends keyof typeof checkSchemas>(kind: K, raw: unknown): CheckSpec {
  return { kind, line: 1, spec: checkSchemas[kind].parse(raw) } as CheckSpec;
}
const statuses = (r: CheckResult[]) => r.map((x) => x.status);

const provider = createLocalProvider(loadConfig());
const pool = new SshPool();
const etcd = new EtcdClients();
const warm = new WarmShells();
let env: Environment;
let t: CheckTarget;
/**
 * A target whose hosts cannot be reached: the same hosts on a loopback port nothing listens on
 * (SSH) and loopback etcd (nothing on 2379 here) — the `error` case of every kind.
 */
let dead: CheckTarget;

async function sh(host: string, cmd: string): Promise<string> {
  const r = await t.exec(host, cmd, { timeoutMs: 30_000, signal: AbortSignal.timeout(30_000) });
  if (r.code !== 0) throw new Error(`${host}: ${cmd}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  env = await provider.create({ hosts: ['host0', 'host1', 'host2'], services: { etcd: 'cluster', docker: true }, owner: 'check-kinds test' });
  t = environmentTarget(env, pool, etcd, warm);
  const deadEnv: Environment = { ...env, id: `${env.id}-dead`, hosts: env.hosts.map((h) => ({ ...h, address: '127.0.0.1', port: 9 })) };
  dead = environmentTarget(deadEnv, pool, etcd, warm);
});

afterAll(async () => {
  etcd.closeAll();
  warm.closeAll();
  pool.closeAll();
  if (env) await provider.destroy(env);
});

describe('etcd', () => {
  it('pass, fail with expected vs actual, error when etcd is unreachable', async () => {
    await sh('host0', 'etcdctl put /example Azure');
    expect(statuses(await runCheck(t, check('etcd', { key: '/example', equals: 'Azure' })))).toEqual(['pass']);
    const fail = await runCheck(t, check('etcd', { key: '/example', equals: 'Blue' }));
    expect(fail[0]).toMatchObject({ status: 'fail', message: 'etcd key /example is "Azure", expected "Blue"' });
    expect(statuses(await runCheck(t, check('etcd', { prefix: '/ex', count: 1 })))).toEqual(['pass']);
    expect(statuses(await runCheck(dead, check('etcd', { key: '/example', timeout: 2000 })))).toEqual(['error']);
  });
});

describe('unit', () => {
  it('pass on all / exactly N, fail naming the host, error when unreachable', async () => {
    await sh('host0', 'systemd-run --unit=lwtest-web.service sleep 1000');
    await sh('host1', 'systemd-run --unit=lwtest-web.service sleep 1000');
    expect(statuses(await runCheck(t, check('unit', { name: 'lwtest-web.service', on: 'host0' })))).toEqual(['pass']);
    expect(statuses(await runCheck(t, check('unit', { name: 'lwtest-web.service', on: 2 })))).toEqual(['pass']);
    expect(statuses(await runCheck(t, check('unit', { name: 'lwtest-web.service', on: 'any' })))).toEqual(['pass']);
    const all = await runCheck(t, check('unit', { name: 'lwtest-web.service', on: 'all' }));
    expect(statuses(all)).toEqual(['pass', 'pass', 'fail']);
    expect(all[2]!.message).toBe('host2: unit lwtest-web.service is not found, expected active');
    await sh('host1', 'systemctl kill -s KILL lwtest-web.service; sleep 0.3; true');
    const r = await runCheck(t, check('unit', { name: 'lwtest-web.service', on: 'host1' }));
    expect(r[0]!.status).toBe('fail');
    expect(r[0]!.message).toMatch(/^host1: unit lwtest-web.service is (failed|inactive)/);
    const err = await runCheck(dead, check('unit', { name: 'ssh.service', on: 'host0', timeout: 3000 }));
    expect(err[0]).toMatchObject({ status: 'error', host: 'host0' });
  });

  it('a unit with no unit file is inactive and disabled, and fails active and enabled as "not found"', async () => {
    const none = 'lwtest-none.service';
    expect(statuses(await runCheck(t, check('unit', { name: none, on: 'all', state: 'inactive' })))).toEqual(['pass', 'pass', 'pass']);
    expect(statuses(await runCheck(t, check('unit', { name: none, on: 'all', state: 'disabled' })))).toEqual(['pass', 'pass', 'pass']);
    expect(await runCheck(t, check('unit', { name: none, on: 'host2' }))).toMatchObject([{ status: 'fail', actual: 'not found', message: `host2: unit ${none} is not found, expected active` }]);
    expect(await runCheck(t, check('unit', { name: none, on: 'host2', state: 'enabled' }))).toMatchObject([{ status: 'fail', actual: 'not found' }]);
    // A unit that was installed, enabled and run, then removed: not running, not enabled.
    const unit = '/etc/systemd/system/lwtest-gone.service';
    await sh('host2', `printf '[Service]\\nExecStart=/bin/sleep 1000\\n[Install]\\nWantedBy=multi-user.target\\n' > ${unit} && systemctl daemon-reload && systemctl enable --now lwtest-gone.service 2>/dev/null`);
    expect(statuses(await runCheck(t, check('unit', { name: 'lwtest-gone.service', on: 'host2', state: 'enabled' })))).toEqual(['pass']);
    expect(statuses(await runCheck(t, check('unit', { name: 'lwtest-gone.service', on: 'host2', state: 'inactive' })))).toEqual(['fail']);
    // Its file removed while it still runs: systemd no longer finds it but it is not inactive.
    await sh('host2', `systemctl disable lwtest-gone.service 2>/dev/null && rm ${unit} && systemctl daemon-reload`);
    expect(await runCheck(t, check('unit', { name: 'lwtest-gone.service', on: 'host2', state: 'inactive' }))).toMatchObject([{ status: 'fail', actual: 'active (not found)' }]);
    await sh('host2', 'systemctl stop lwtest-gone.service');
    expect(statuses(await runCheck(t, check('unit', { name: 'lwtest-gone.service', on: 'host2', state: 'inactive' })))).toEqual(['pass']);
    expect(statuses(await runCheck(t, check('unit', { name: 'lwtest-gone.service', on: 'host2', state: 'disabled' })))).toEqual(['pass']);
    expect(await runCheck(t, check('unit', { name: 'lwtest-gone.service', on: 'host2' }))).toMatchObject([{ status: 'fail', actual: 'not found' }]);
  });
});

describe('command', () => {
  it('pass, fail, and a hanging command becomes a timeout error', async () => {
    expect(statuses(await runCheck(t, check('command', { on: 'all', run: 'hostname', stdout: '^host\\d$' })))).toEqual(['pass', 'pass', 'pass']);
    const fail = await runCheck(t, check('command', { on: 'host1', run: 'test -e /nope' }));
    expect(fail[0]).toMatchObject({ status: 'fail', actual: 'exit 1' });
    const hang = await runCheck(t, check('command', { on: 'host2', run: 'sleep 30', timeout: 700 }));
    expect(hang[0]).toMatchObject({ status: 'error', host: 'host2' });
    expect(hang[0]!.actual).toMatch(/no answer within 700 ms/);
    expect(statuses(await runCheck(dead, check('command', { on: 'host1', run: 'true', timeout: 3000 })))).toEqual(['error']);
  });
});

describe('file', () => {
  it('pass, fail, error; a path with quotes stays one path', async () => {
    await sh('host1', `printf 'hello world\\n' > "/tmp/it's here"`);
    expect(statuses(await runCheck(t, check('file', { on: 'host1', path: "/tmp/it's here", contains: 'world' })))).toEqual(['pass']);
    expect(await runCheck(t, check('file', { on: 'host0', path: "/tmp/it's here" }))).toMatchObject([{ status: 'fail', actual: 'absent' }]);
    expect(await runCheck(t, check('file', { on: 'host1', path: "/tmp/it's here", contains: 'moon' }))).toMatchObject([{ status: 'fail' }]);
    expect(statuses(await runCheck(dead, check('file', { on: 'host1', path: '/etc/hostname', timeout: 3000 })))).toEqual(['error']);
  });
});

describe('container', () => {
  it('pass by name with a port and by image, fail when absent or stopped, error when unreachable', async () => {
    await sh('host1', 'docker run -d --name web -p 8080:80 busybox httpd -f -p 80 >/dev/null');
    await sh('host1', 'docker run --name done busybox true >/dev/null');
    expect(statuses(await runCheck(t, check('container', { on: 'host1', name: 'web', port: 8080 })))).toEqual(['pass']);
    expect(statuses(await runCheck(t, check('container', { on: 'host1', image: 'busybox' })))).toEqual(['pass']);
    expect(await runCheck(t, check('container', { on: 'host1', name: 'done' }))).toMatchObject([{ status: 'fail', actual: 'exited' }]);
    const absent = await runCheck(t, check('container', { on: 'host0', name: 'web' }));
    expect(absent[0]!.message).toBe('host0: container web is absent, expected running');
    expect(statuses(await runCheck(dead, check('container', { on: 'host1', name: 'web', timeout: 3000 })))).toEqual(['error']);
  });
});

describe('http', () => {
  it('from a host and from the server: pass, fail, error', async () => {
    await sh('host1', 'systemctl start nginx');
    expect(statuses(await runCheck(t, check('http', { from: 'host0', url: 'http://host1/', body: 'nginx' })))).toEqual(['pass']);
    expect(statuses(await runCheck(t, check('http', { from: 'server', url: 'http://host1/', body: 'nginx' })))).toEqual(['pass']);
    expect(await runCheck(t, check('http', { from: 'host0', url: 'http://host1/nope' }))).toMatchObject([{ status: 'fail', actual: 'status 404' }]);
    const refused = await runCheck(t, check('http', { from: 'server', url: 'http://host2:8081/' }));
    expect(refused[0]!.status).toBe('fail');
    expect(refused[0]!.actual).toMatch(/^nothing \(.*host2/);
    // Not this environment's host: refused before any packet is sent.
    expect(statuses(await runCheck(t, check('http', { from: 'server', url: 'http://10.213.255.254/' })))).toEqual(['error']);
    expect(statuses(await runCheck(dead, check('http', { from: 'host0', url: 'http://host1/', timeout: 3000 })))).toEqual(['error']);
  });
});

describe('overlay', () => {
  it('pass when every host has a lease holding its interface; fail naming the host; error without etcd', async () => {
    await sh('host0', `etcdctl put /coreos.com/network/config '{"Network":"10.2.0.0/16"}'`);
    for (const [i, h] of env.hosts.entries()) {
      await sh(h.name, `ip link add lw0 type bridge && ip addr add 10.2.${i}.1/24 dev lw0`);
      await sh('host0', `etcdctl put /coreos.com/network/subnets/10.2.${i}.0-24 '{"PublicIP":"${h.address}"}'`);
    }
    const spec = { network: '10.2.0.0/16', interface: 'lw0' };
    expect(statuses(await runCheck(t, check('overlay', spec)))).toEqual(['pass', 'pass', 'pass', 'pass']);
    await sh('host2', 'ip addr flush dev lw0 && ip addr add 10.2.9.1/24 dev lw0');
    const r = await runCheck(t, check('overlay', spec));
    expect(statuses(r)).toEqual(['pass', 'pass', 'pass', 'fail']);
    expect(r[3]!.message).toMatch(/^host2: .*lease 10\.2\.2\.0\/24, but lw0 is 10\.2\.9\.1/);
    expect(statuses(await runCheck(dead, check('overlay', { ...spec, timeout: 2000 })))).toContain('error');
  });
});

describe('etcd-cluster', () => {
  // Last in the file: it stops and restarts etcd members, and leaves all three running again.
  const cluster = (raw: unknown): CheckSpec => check('etcd-cluster', { timeout: 20_000, ...(raw as object) });
  const byHost = (r: CheckResult[]) => Object.fromEntries(r.map((x) => [x.host ?? 'cluster', x.status]));
  async function leaderHost(): Promise<string> {
    const out = await sh('host0', 'etcdctl endpoint status --cluster -w json');
    const rows = JSON.parse(out) as { Endpoint: string; Status: { leader: number; header: { member_id: number } } }[];
    const led = rows.find((r) => r.Status.leader === r.Status.header.member_id);
    const host = env.hosts.find((h) => led?.Endpoint.includes(h.address));
    if (!host) throw new Error(`no leader in ${out}`);
    return host.name;
  }
  const allPass = (r: CheckResult[]): boolean => r.every((x) => x.status === 'pass');
  const until = async (spec: CheckSpec, done: (r: CheckResult[]) => boolean = allPass): Promise<CheckResult[]> => {
    for (let i = 0; ; i++) {
      const r = await runCheck(t, spec);
      if (done(r) || i === 20) return r;
      await new Promise((res) => setTimeout(res, 500));
    }
  };

  it('a stopped follower fails `stopped: leader`; a stopped leader passes with a higher term; one member left has no leader; restored, a probe write reaches every member', async () => {
    try {
      expect(statuses(await runCheck(t, cluster({ running: 3, leader: 'elected' })))).toEqual(['pass', 'pass', 'pass', 'pass']);
      const noneStopped = await runCheck(t, cluster({ stopped: 'leader' }));
      expect(noneStopped[0]).toMatchObject({ status: 'fail', actual: 'every member running' });

      const leader = await leaderHost();
      const follower = ['host0', 'host1', 'host2'].find((h) => h !== leader) ?? '';
      await sh(follower, 'systemctl stop etcd');
      const wrongOne = await until(cluster({ running: 2, leader: 'elected', stopped: 'leader' }), (r) => r[0]?.status === 'pass' && !r.some((x) => x.status === 'error'));
      expect(byHost(wrongOne)[follower]).toBe('fail');
      expect(wrongOne.find((x) => x.host === follower)?.actual).toMatch(/following host\d \(term \d+\) when it stopped/);

      await sh(follower, 'systemctl start etcd');
      await sh(leader, 'systemctl stop etcd');
      const right = await until(cluster({ running: 2, leader: 'elected', stopped: 'leader' }));
      expect(statuses(right)).toEqual(['pass', 'pass', 'pass', 'pass']);
      expect(right.find((x) => x.host === leader)?.actual).toMatch(/it was the leader \(term \d+\) when it stopped/);

      await sh(follower, 'systemctl stop etcd');
      const alone = await until(cluster({ running: 1, leader: 'none' }));
      expect(statuses(alone)).toEqual(['pass', 'pass', 'pass', 'pass']);
      // Without a quorum the probe write cannot be committed: `replicated` fails, it does not hang.
      expect(statuses(await runCheck(t, cluster({ replicated: true }))).includes('fail')).toBe(true);
    } finally {
      await Promise.all(['host0', 'host1', 'host2'].map((h) => sh(h, 'systemctl start etcd')));
    }
    expect(statuses(await until(cluster({ running: 3, leader: 'elected', replicated: true })))).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(await sh('host0', 'etcdctl get --prefix /labwright/probe/ --keys-only')).toBe('');
  });
});
