// Hostile: root in a lab host tries to act as root on the server. With unprivileged hosts (the default) it
// is uid BASE here: what it writes is BASE's on disk, and the escapes a privileged host allowed (a device node
// for the server's disk, writing the server's kernel settings) are refused. Real nspawn host, real ssh.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPaths } from '../../provisioning/local/machine.ts';
import type { LocalProvider } from '../../provisioning/local/local-provider.ts';
import { readState } from '../../provisioning/local/state.ts';
import { canRunHosts, sshRun, testConfig, testProvider } from '../../provisioning/testing/host-test-support.ts';
import type { Environment } from '../../provisioning/provider.ts';

describe.skipIf(!canRunHosts || testConfig.hostIsolation !== 'userns')('hostile: root in an unprivileged lab host', () => {
  let provider: LocalProvider;
  let env: Environment;
  let base = 0;
  let hostDir = '';

  beforeAll(async () => {
    provider = await testProvider();
    env = await provider.create({ hosts: ['host0'], services: { etcd: 'none', docker: true }, owner: 'test' });
    const h = (await readState(testConfig.dataDir, env.id))!.hosts[0]!;
    base = h.idBase!;
    hostDir = h.dir;
  });

  afterAll(async () => {
    if (env) await provider.destroy(env);
  });

  it('root creates files in /, /root and /var/lib/docker → on the server they belong to BASE, not root', async () => {
    const r = await sshRun(env, 'host0', 'touch /evil /root/evil /var/lib/docker/evil && chmod 4755 /evil && id -u');
    expect(r.stdout.trim()).toBe('0');
    const p = hostPaths(hostDir);
    for (const f of [path.join(p.upper, 'evil'), path.join(p.upper, 'root/evil'), path.join(p.docker, 'evil')]) {
      const st = await fs.stat(f);
      expect({ f, uid: st.uid, gid: st.gid }).toEqual({ f, uid: base, gid: base });
    }
    expect(base).toBeGreaterThan(0);
  });

  it('root makes a block device node for the server disk → EPERM (a privileged host could read the raw disk)', async () => {
    const dev = await fs.stat('/').then((s) => ({ major: Math.floor(s.dev / 256), minor: s.dev % 256 }));
    const r = await sshRun(env, 'host0', `mknod /root/disk b ${dev.major} ${dev.minor} 2>&1; echo "rc=$?"; ls /root/disk 2>/dev/null || echo absent`);
    expect(r.stdout).toMatch(/Operation not permitted/);
    expect(r.stdout).toMatch(/rc=1/);
    expect(r.stdout).toMatch(/absent/);
  });

  it("root remounts /proc/sys read-write to set the server's kernel.core_pattern → permission denied", async () => {
    // The value written is the one already there: even on a host that let it through, nothing would change.
    const r = await sshRun(
      env,
      'host0',
      'mount -o remount,rw /proc/sys 2>/dev/null; v=$(cat /proc/sys/kernel/core_pattern); printf "%s\\n" "$v" > /proc/sys/kernel/core_pattern 2>/dev/null; echo "rc=$?"; stat -c %u /proc/sys/kernel/core_pattern',
    );
    expect(r.stdout.trim().split('\n')).toEqual(['rc=1', '65534']);
  });

  it('root mounts the host filesystem elsewhere to get around read-only and id mapping → refused', async () => {
    // A bind of / (to reach the lower image unmapped) is refused in a user namespace that does not own it.
    const r = await sshRun(env, 'host0', 'mkdir -p /mnt/x && mount --bind / /mnt/x 2>&1; echo "rc=$?"');
    expect(r.stdout).toMatch(/rc=32/);
  });

  it('the image below every host stays untouched by what root did in a host', async () => {
    const image = (await readState(testConfig.dataDir, env.id))!.imageRootfs;
    await expect(fs.access(path.join(image, 'evil'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await fs.stat(path.join(image, 'etc'))).uid).toBe(0);
  });
});
