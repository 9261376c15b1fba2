// Hostile: an attendee who is root in a lab host attacks the machine under it — a fork bomb, filling the
// disk, reaching the server over IPv6 link-local. Real nspawn hosts; every target is this test's own bridge.
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../provisioning/exec.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { diskImageOf } from '../../provisioning/local/host-disk.ts';
import { leftoversOf } from '../../provisioning/local/leftovers.ts';
import { createLocalProvider } from '../../provisioning/local/local-provider.ts';
import type { LocalProvider } from '../../provisioning/local/local-provider.ts';
import { vethName } from '../../provisioning/local/names.ts';
import { readState } from '../../provisioning/local/state.ts';
import type { EnvRecord } from '../../provisioning/local/state.ts';
import { canRunHosts, sshRun, testConfig, testProvider } from '../../provisioning/testing/host-test-support.ts';

const MiB = 2 ** 20;
const LIMITS = { memoryBytes: 512 * MiB, pids: 512, cpus: 1, diskBytes: 256 * MiB };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** IPv6 addresses of one link of the server machine. */
async function ipv6Addresses(link: string): Promise<string[]> {
  const r = await run('ip', ['-j', '-6', 'addr', 'show', 'dev', link], { okCodes: [0, 1] });
  const parsed = JSON.parse(r.stdout || '[]') as { addr_info?: { local?: string }[] }[];
  return parsed.flatMap((l) => (l.addr_info ?? []).map((a) => a.local ?? '')).filter(Boolean);
}

/** The pids cgroup file of a host, read from the server (v1 pids hierarchy or the single v2 cgroup). */
async function pidsFile(st: EnvRecord, host: number, file: string): Promise<string> {
  for (const d of st.hosts[host]!.cgroups) {
    const p = path.join(d, file);
    if (await fs.access(p).then(() => true, () => false)) return (await fs.readFile(p, 'utf8')).trim();
  }
  throw new Error(`no ${file} for ${st.hosts[host]!.machine}`);
}

describe.skipIf(!canRunHosts)('hostile: root in a lab host against the server machine', () => {
  let provider: LocalProvider;
  let env: Environment;
  let st: EnvRecord;

  beforeAll(async () => {
    await testProvider(); // the image
    provider = createLocalProvider(testConfig, { readyTimeoutMs: 120_000, limits: LIMITS });
    env = await provider.create({ hosts: ['host0', 'host1'], services: { etcd: 'none', docker: false }, owner: 'test' });
    st = (await readState(testConfig.dataDir, env.id))!;
  });

  afterAll(async () => {
    if (env) {
      await provider.destroy(env);
      expect(await leftoversOf(testConfig.dataDir, env.id)).toEqual([]);
    }
  });

  it('fork bomb in host0 → stops at its pids limit, host1 answers meanwhile, host0 answers once it ends', { timeout: 240_000 }, async () => {
    // Run as a unit the host's own systemd kills after a few seconds: a shell cannot fork to stop it while it runs.
    const start = await sshRun(
      env,
      'host0',
      "systemd-run --unit=lw-bomb -p RuntimeMaxSec=30 -p KillSignal=SIGKILL bash -c 'b() { b | b & }; b; sleep 60' && echo started",
    );
    expect(start.stdout.trim()).toBe('started');
    // pids.events counts the forks refused at the limit.
    const refusedForks = async (): Promise<number> => Number(/^max (\d+)$/m.exec(await pidsFile(st, 0, 'pids.events'))?.[1] ?? 0);
    let peak = 0;
    // Polled, not timed: how fast the bomb grows depends on the machine's load (its CPU quota slows it too).
    for (let i = 0; i < 300 && (await refusedForks()) === 0; i++) {
      peak = Math.max(peak, Number(await pidsFile(st, 0, 'pids.current')));
      await sleep(100);
    }
    expect(await refusedForks()).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(LIMITS.pids);
    // The other host of the same attendee is not starved of processes.
    expect((await sshRun(env, 'host1', 'echo alive')).stdout.trim()).toBe('alive');
    // Once its unit's time is up the host's systemd kills the bomb (watched from outside: while the host is at its
    // limit its sshd cannot fork a session), and host0 is usable again.
    for (let i = 0; i < 600 && Number(await pidsFile(st, 0, 'pids.current')) >= LIMITS.pids / 2; i++) await sleep(200);
    expect(Number(await pidsFile(st, 0, 'pids.current'))).toBeLessThan(LIMITS.pids / 2);
    let after = '';
    for (let i = 0; i < 20 && after !== 'running'; i++) {
      // The bomb's unit itself ends failed (killed at its time limit); nothing else may have.
      after = (await sshRun(env, 'host0', 'systemctl reset-failed lw-bomb.service; systemctl is-system-running')).stdout.trim();
      if (after !== 'running') await sleep(500);
    }
    expect(after).toBe('running');
  });

  it('dd beyond the disk size in host0 → ENOSPC inside, the server holds only the bounded image, host0 writes again after rm', { timeout: 120_000 }, async () => {
    const dd = await sshRun(env, 'host0', 'dd if=/dev/zero of=/root/fill bs=1M count=300 2>&1; echo "status=$?"');
    expect(dd.stdout).toMatch(/No space left on device/);
    expect(dd.stdout).toMatch(/status=1/);
    // /var/lib/docker shares the bound: it is full too.
    const docker = await sshRun(env, 'host0', 'dd if=/dev/zero of=/var/lib/docker/fill bs=1M count=1 2>&1; echo "status=$?"');
    expect(docker.stdout).toMatch(/No space left on device/);
    // On the server, the host's writes live in its image file, which cannot grow past the bound.
    const img = await fs.stat(diskImageOf(st.hosts[0]!.dir));
    expect(img.size).toBe(LIMITS.diskBytes);
    expect(img.blocks * 512).toBeLessThanOrEqual(LIMITS.diskBytes);
    const again = await sshRun(env, 'host0', 'rm -f /root/fill /var/lib/docker/fill && echo ok > /root/small && cat /root/small');
    expect(again.stdout.trim()).toBe('ok');
    expect((await sshRun(env, 'host1', 'df -B1 --output=avail / | tail -1')).stdout.trim()).not.toBe('0');
  });

  it('IPv6 from a host to the server (link-local, all-nodes, a port bound on ::) → nothing answers from the server', { timeout: 120_000 }, async () => {
    // The lab bridge has IPv6 off: the server has no address a host could use on it.
    expect((await fs.readFile(`/proc/sys/net/ipv6/conf/${st.bridge}/disable_ipv6`, 'utf8')).trim()).toBe('1');
    expect(await ipv6Addresses(st.bridge)).toEqual([]);
    // The hosts run without IPv6 addresses; root in a host gives itself one, as an attacker would.
    for (const [i, h] of ['host0', 'host1'].entries()) {
      const up = await sshRun(env, h, `sysctl -qw net.ipv6.conf.host0.disable_ipv6=0 && ip -6 addr add fe80::a${i}/64 dev host0 nodad && echo up`);
      expect(up.stdout.trim()).toBe('up');
    }
    // Control: IPv6 itself works between the hosts, so a failure below is the server refusing.
    expect((await sshRun(env, 'host0', 'ping -6 -c1 -W2 fe80::a1%host0 >/dev/null && echo reached')).stdout.trim()).toBe('reached');

    // Worst case: IPv6 turned back on for the bridge (a new link-local address appears) — the firewall still holds.
    await fs.writeFile(`/proc/sys/net/ipv6/conf/${st.bridge}/disable_ipv6`, '0');
    await run('ip', ['-6', 'addr', 'add', 'fe80::1:1/64', 'dev', st.bridge, 'nodad']);
    const server = net.createServer((sock) => sock.end('server says hi\n'));
    await new Promise<void>((resolve) => server.listen(0, '::', resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const serverSide = [...(await ipv6Addresses(st.bridge)), ...(await Promise.all(st.hosts.map((h) => ipv6Addresses(vethName(h.machine))))).flat()];
      expect(serverSide).toContain('fe80::1:1');
      for (const addr of serverSide) {
        const r = await sshRun(env, 'host0', `nc -6 -w2 ${addr}%host0 ${port} </dev/null; ping -6 -c1 -W1 ${addr}%host0 >/dev/null && echo pinged; echo done`);
        expect(r.stdout, addr).not.toContain('server says hi');
        expect(r.stdout, addr).not.toContain('pinged');
        expect(r.stdout, addr).toContain('done');
      }
      // All nodes on the link: only the hosts answer, never an address of the server.
      const all = await sshRun(env, 'host0', 'ping -6 -c2 -w3 ff02::1%host0 2>&1');
      const responders = new Set([...all.stdout.matchAll(/from (fe80:[0-9a-f:]+)/g)].map((m) => m[1]));
      expect(responders.size).toBeGreaterThan(0);
      for (const addr of serverSide) expect(responders.has(addr), addr).toBe(false);
    } finally {
      server.close();
      await run('ip', ['-6', 'addr', 'del', 'fe80::1:1/64', 'dev', st.bridge], { okCodes: [0, 2] });
      await fs.writeFile(`/proc/sys/net/ipv6/conf/${st.bridge}/disable_ipv6`, '1');
    }
  });
});
