// A lab that declares neither etcd nor Docker gets hosts without them: nothing of either runs, while
// sshd, networkd and journald (what every lab uses) do. The lab with both: local-provider.host.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '../provider.ts';
import { leftoversOf } from './leftovers.ts';
import type { LocalProvider } from './local-provider.ts';
import { canRunHosts, sshRun, testConfig, testProvider } from '../testing/host-test-support.ts';

describe.skipIf(!canRunHosts)('local provider: a host of a lab without etcd and Docker', () => {
  let provider: LocalProvider;
  let env: Environment;

  beforeAll(async () => {
    provider = await testProvider();
    env = await provider.create({ hosts: ['host0'], services: { etcd: 'none', docker: false }, owner: 'test' });
  });

  afterAll(async () => {
    if (env) await provider.destroy(env);
  });

  it('boots to a running systemd with sshd, networkd and journald, and no etcd, Docker or containerd', async () => {
    const r = await sshRun(env, 'host0', [
      'systemctl is-system-running',
      'systemctl is-active ssh.service systemd-networkd.service systemd-journald.service',
      'systemctl is-active etcd.service docker.service docker.socket containerd.service',
      'pgrep -c -x "etcd|dockerd|containerd" || true',
    ].join('; '));
    expect(r.stdout.trim().split('\n')).toEqual(['running', 'active', 'active', 'active', 'inactive', 'inactive', 'inactive', 'inactive', '0']);
  });

  it('masks the boot-only units and boots the multi-user target', async () => {
    const r = await sshRun(env, 'host0', 'systemctl get-default; systemctl is-enabled systemd-network-generator.service systemd-update-utmp.service systemd-tmpfiles-clean.timer');
    expect(r.stdout.trim().split('\n')).toEqual(['multi-user.target', 'masked', 'masked', 'masked']);
  });

  it('leaves nothing behind', async () => {
    await provider.destroy(env);
    expect(await leftoversOf(testConfig.dataDir, env.id)).toEqual([]);
  });
});
