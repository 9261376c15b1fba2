// Unprivileged hosts on the real kernel: each host's root is its own id range on the server, and root inside
// can still do what labs need (sshd, systemd, etcd, Docker run/build/-p). A creator killed mid-boot leaves
// idmapped mounts that recover() removes.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProvisionError } from '../provider.ts';
import type { Environment } from '../provider.ts';
import { idRangesDir } from './id-ranges.ts';
import { leftoversOf } from './leftovers.ts';
import { createLocalProvider } from './local-provider.ts';
import type { LocalProvider } from './local-provider.ts';
import { envDir, listEnvIds, readState } from './state.ts';
import { canRunHosts, mountsUnder, sshRun, testConfig, testProvider } from '../testing/host-test-support.ts';

/** The pid of the host's own init (systemd): the child of its nspawn. */
async function initPid(nspawnPid: number): Promise<number> {
  const kids = (await fs.readFile(`/proc/${nspawnPid}/task/${nspawnPid}/children`, 'utf8')).trim().split(/\s+/);
  return Number(kids[0]);
}

const idmappedMountsUnder = async (dir: string): Promise<string[]> => (await mountsUnder(`${dir}/`)).filter((l) => l.includes('idmapped'));

describe.skipIf(!canRunHosts || testConfig.hostIsolation !== 'userns')('unprivileged hosts (userns)', () => {
  let provider: LocalProvider;
  let env: Environment;

  beforeAll(async () => {
    provider = await testProvider();
    env = await provider.create({ hosts: ['host0', 'host1'], services: { etcd: 'cluster', docker: true }, owner: 'test' });
  });

  afterAll(async () => {
    if (env) await provider.destroy(env);
  });

  it('maps each host root to its own range: uid_map of the init pid reads 0 BASE 65536, BASEs differ', async () => {
    const st = (await readState(testConfig.dataDir, env.id))!;
    const bases: number[] = [];
    for (const h of st.hosts) {
      expect(h.idBase).toBeGreaterThanOrEqual(0x7000_0000);
      const map = await fs.readFile(`/proc/${await initPid(h.pid)}/uid_map`, 'utf8');
      expect(map.trim().split(/\s+/).map(Number)).toEqual([0, h.idBase, 65536]);
      const gmap = await fs.readFile(`/proc/${await initPid(h.pid)}/gid_map`, 'utf8');
      expect(gmap.trim().split(/\s+/).map(Number)).toEqual([0, h.idBase, 65536]);
      bases.push(h.idBase!);
    }
    expect(new Set(bases).size).toBe(2);
  });

  it('inside, root is root: sshd answers, systemd runs, the etcd cluster is healthy', async () => {
    for (const h of env.hosts) {
      const r = await sshRun(env, h.name, 'id -u; systemctl is-system-running');
      expect(r.stdout.trim().split('\n')).toEqual(['0', 'running']);
    }
    const health = await sshRun(env, 'host1', 'etcdctl endpoint health --cluster 2>&1');
    expect(health.stdout.match(/is healthy/g)).toHaveLength(2);
  });

  it('inside, Docker runs busybox, builds an image, and maps a port', async () => {
    expect((await sshRun(env, 'host0', 'docker run --rm busybox echo ok')).stdout.trim()).toBe('ok');
    const build = await sshRun(
      env,
      'host0',
      'mkdir -p /tmp/b && cd /tmp/b && printf "FROM busybox\\nRUN echo built > /b\\n" > Dockerfile && DOCKER_BUILDKIT=0 docker build -q -t lw-userns-test . >/dev/null && docker run --rm lw-userns-test cat /b',
    );
    expect(build.stdout.trim()).toBe('built');
    const port = await sshRun(
      env,
      'host0',
      'docker run -d --name web -p 8088:80 busybox httpd -f -p 80 -h /etc >/dev/null && for i in $(seq 50); do curl -sf http://127.0.0.1:8088/hostname && break; sleep 0.1; done; docker rm -f web >/dev/null',
    );
    expect(port.stdout.trim()).not.toBe('');
  });

  it('destroy removes the idmapped mounts and frees the id ranges', async () => {
    const other = await provider.create({ hosts: ['host0'], services: { etcd: 'none', docker: false }, owner: 'test' });
    const dir = envDir(testConfig.dataDir, other.id);
    expect(await idmappedMountsUnder(dir)).toHaveLength(1);
    await provider.destroy(other);
    expect(await idmappedMountsUnder(dir)).toEqual([]);
    expect(await leftoversOf(testConfig.dataDir, other.id)).toEqual([]);
  });
});

describe.skipIf(!canRunHosts || testConfig.hostIsolation !== 'userns')('unprivileged hosts: refusal', () => {
  it('refuses a lab of virtual machines (vm: true), naming the lxd provider, before anything is made', async () => {
    const provider = createLocalProvider(testConfig);
    const err = await provider.create({ hosts: ['host0'], services: { etcd: 'none', docker: false }, owner: 'test', vm: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisionError);
    expect((err as ProvisionError).code).toBe('isolation-unavailable');
    expect((err as ProvisionError).message).toMatch(/virtual machines \(vm: true\).*LABWRIGHT_PROVIDER=lxd/);
    const mine: string[] = [];
    for (const id of await listEnvIds(testConfig.dataDir)) if ((await readState(testConfig.dataDir, id))?.creatorPid === process.pid) mine.push(id);
    expect(mine).toEqual([]);
  });

  it('refuses, naming LABWRIGHT_HOST_ISOLATION, where the image filesystem has no idmapped mounts, and creates nothing', async () => {
    // /proc cannot be idmapped: standing in for an image on a filesystem (or kernel) without idmapped mounts.
    const provider = createLocalProvider(testConfig, { imageRootfs: '/proc' });
    const err = await provider.create({ hosts: ['host0'], services: { etcd: 'none', docker: false }, owner: 'test' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisionError);
    expect((err as ProvisionError).code).toBe('isolation-unavailable');
    expect((err as ProvisionError).message).toMatch(/cannot run unprivileged.*idmapped mounts do not work.*LABWRIGHT_HOST_ISOLATION=privileged/);
    // Nothing of this process's making is left half-created (other processes may be creating their own).
    const mine: string[] = [];
    for (const id of await listEnvIds(testConfig.dataDir)) if ((await readState(testConfig.dataDir, id))?.creatorPid === process.pid) mine.push(id);
    expect(mine).toEqual([]);
  });
});

describe.skipIf(!canRunHosts || testConfig.hostIsolation !== 'userns')('unprivileged hosts: crash leftovers', () => {
  it('reaps the idmapped mounts and id ranges of a creator killed with SIGKILL mid-provisioning', async () => {
    await testProvider();
    const bin = path.resolve(import.meta.dirname, '../../bin/labwright.mjs');
    const child = spawn(process.execPath, [bin, 'env', 'up', '--hosts', '3', '--docker'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // Kill it as soon as an idmapped bind exists: the overlay on top may or may not be mounted yet.
    let id = '';
    for (let i = 0; i < 3000 && !id; i++) {
      const m = /(lw[a-z0-9]{5})-br/.exec(stderr);
      if (m?.[1] && (await idmappedMountsUnder(envDir(testConfig.dataDir, m[1]))).length > 0) id = m[1];
      else await sleep(10);
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(id, stderr).toMatch(/^lw/);
    const ranges = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const f of await fs.readdir(idRangesDir).catch(() => [] as string[])) {
        if ((await fs.readFile(path.join(idRangesDir, f), 'utf8')).trim() === id) out.push(f);
      }
      return out;
    };
    expect((await ranges()).length).toBeGreaterThan(0);

    const report = await createLocalProvider(testConfig).recover();
    expect(report.reaped).toContain(id);
    expect(await idmappedMountsUnder(envDir(testConfig.dataDir, id))).toEqual([]);
    expect(await ranges()).toEqual([]);
    expect(await leftoversOf(testConfig.dataDir, id)).toEqual([]);
  });
});
