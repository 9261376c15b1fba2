// Lifecycle of local environments on real hosts: bad input, repeated create/destroy, cancel mid-boot,
// a SIGKILLed `labwright env up` reaped on the next start, adoption of live environments, the warm pool.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { WarmPool } from '../pool.ts';
import { ProvisionError } from '../provider.ts';
import type { EnvironmentSpec } from '../provider.ts';
import { leftoversOf } from './leftovers.ts';
import { createLocalProvider } from './local-provider.ts';
import type { LocalProvider } from './local-provider.ts';
import { listEnvIds, readState } from './state.ts';
import { canRunHosts, sshRun, testConfig, testProvider } from '../testing/host-test-support.ts';

const ONE: EnvironmentSpec = { hosts: ['host0'], services: { etcd: 'none', docker: false }, owner: 'test' };

async function mineInProgress(): Promise<string[]> {
  const out: string[] = [];
  for (const id of await listEnvIds(testConfig.dataDir)) {
    const st = await readState(testConfig.dataDir, id);
    if (st?.creatorPid === process.pid && st.status === 'creating') out.push(id);
  }
  return out;
}

describe.skipIf(!canRunHosts)('local provider lifecycle', () => {
  let provider: LocalProvider;
  beforeAll(async () => {
    provider = await testProvider();
  });

  it.each([
    ['no hosts', { ...ONE, hosts: [] }, /at least 1 host/],
    ['50 hosts', { ...ONE, hosts: Array.from({ length: 50 }, (_, i) => `host${i}`) }, /50 hosts asked, at most 16/],
    ['a bad host name', { ...ONE, hosts: ['Host 0;rm'] }, /host name "Host 0;rm"/],
    ['duplicate names', { ...ONE, hosts: ['host0', 'host0'] }, /unique/],
    ['an unknown etcd mode', { ...ONE, services: { etcd: 'yes', docker: false } } as unknown as EnvironmentSpec, /services.etcd/],
  ])('refuses %s with a clear bad-spec error and creates nothing', async (_name, spec, message) => {
    const err = await provider.create(spec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProvisionError);
    expect((err as ProvisionError).code).toBe('bad-spec');
    expect((err as ProvisionError).message).toMatch(message);
    expect(await mineInProgress()).toEqual([]);
  });

  it('leaks nothing over repeated create/destroy cycles', async () => {
    for (let i = 0; i < 3; i++) {
      const env = await provider.create(ONE);
      expect((await sshRun(env, 'host0', 'hostname')).stdout.trim()).toBe('host0');
      await provider.destroy(env);
      expect(await leftoversOf(testConfig.dataDir, env.id)).toEqual([]);
    }
  });

  it('rolls back an environment cancelled while its hosts boot', async () => {
    const ac = new AbortController();
    let id = '';
    const err = await provider
      .create(
        { ...ONE, hosts: ['host0', 'host1'] },
        {
          signal: ac.signal,
          onProgress: (p) => {
            id ||= /(lw[a-z0-9]{5})-br/.exec(p.message)?.[1] ?? '';
            if (p.phase === 'boot' && p.done === p.total) ac.abort();
          },
        },
      )
      .catch((e: unknown) => e);
    expect((err as ProvisionError).code).toBe('aborted');
    expect(id).toMatch(/^lw/);
    expect(await leftoversOf(testConfig.dataDir, id)).toEqual([]);
  });

  it('reaps everything of a `labwright env up` killed with SIGKILL during boot', async () => {
    const bin = path.resolve(import.meta.dirname, '../../bin/labwright.mjs');
    const child = spawn(process.execPath, [bin, 'env', 'up', '--hosts', '2', '--etcd', '--docker'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // Wait until the child has launched its hosts (pids recorded), then kill it mid-boot.
    let id = '';
    for (let i = 0; i < 1000 && !id; i++) {
      const m = /(lw[a-z0-9]{5})-br/.exec(stderr);
      const st = m?.[1] ? await readState(testConfig.dataDir, m[1]) : undefined;
      if (st && st.hosts.every((h) => h.pid > 0)) id = st.id;
      else await sleep(20);
    }
    expect(id, stderr).toMatch(/^lw/);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect((await readState(testConfig.dataDir, id))?.status).toBe('creating');
    expect((await leftoversOf(testConfig.dataDir, id)).length).toBeGreaterThan(0);

    const report = await createLocalProvider(testConfig).recover();
    expect(report.reaped).toContain(id);
    expect(await leftoversOf(testConfig.dataDir, id)).toEqual([]);
  });

  it('adopts a live environment on start instead of reaping it', async () => {
    const env = await provider.create(ONE);
    try {
      const restarted = createLocalProvider(testConfig);
      const report = await restarted.recover();
      expect(report.adopted).toContain(env.id);
      expect(report.reaped).not.toContain(env.id);
      const again = (await restarted.list()).find((e) => e.id === env.id)!;
      expect((await sshRun(again, 'host0', 'systemctl is-system-running')).stdout.trim()).toBe('running');
    } finally {
      await provider.destroy(env);
    }
  });

  it("never reaps another data directory's environment, and never gives it the same subnet", async () => {
    const otherDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lw-data-'));
    const other = createLocalProvider({ ...testConfig, dataDir: otherDir });
    const theirs = await other.create(ONE);
    try {
      const mine = await provider.create(ONE);
      try {
        expect(mine.hosts[0]!.address).not.toBe(theirs.hosts[0]!.address);
        const report = await createLocalProvider(testConfig).recover();
        expect(report.reaped).not.toContain(theirs.id);
        expect((await sshRun(theirs, 'host0', 'hostname')).stdout.trim()).toBe('host0');
      } finally {
        await provider.destroy(mine);
      }
    } finally {
      await other.destroy(theirs);
      await fs.rm(otherDir, { recursive: true, force: true });
    }
    expect(await leftoversOf(otherDir, theirs.id)).toEqual([]);
  });

  it('hands out a ready environment from the warm pool and leaves nothing after drain', async () => {
    const pool = new WarmPool(provider, ONE, 1);
    await pool.waitReady();
    const env = await pool.claim();
    try {
      expect((await sshRun(env, 'host0', 'hostname')).stdout.trim()).toBe('host0');
    } finally {
      await provider.destroy(env);
    }
    await pool.drain();
    expect(await leftoversOf(testConfig.dataDir, env.id)).toEqual([]);
    expect(await mineInProgress()).toEqual([]);
  });
});
