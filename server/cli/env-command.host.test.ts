// `labwright env` as a person runs it: a real process, its JSON, the printed ssh command, one-line errors.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { leftoversOf } from '../../provisioning/local/leftovers.ts';
import { canRunHosts, testConfig } from '../../provisioning/testing/host-test-support.ts';

const pexec = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/labwright.mjs');

async function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; uid?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await pexec(process.execPath, [BIN, ...args], { env: opts.env ?? process.env, uid: opts.uid, timeout: 120_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe.skipIf(!canRunHosts)('labwright env (real processes, real hosts)', () => {
  it('up --json prints hosts and an ssh command that works; down removes everything', async () => {
    const up = await cli(['env', 'up', '--hosts', '2', '--json']);
    expect(up.code, up.stderr).toBe(0);
    const out = JSON.parse(up.stdout) as { id: string; hosts: { name: string; address: string; ssh: string }[] };
    expect(out.hosts.map((h) => h.name)).toEqual(['host0', 'host1']);
    try {
      const [cmd, ...args] = out.hosts[1]!.ssh.split(' ');
      const r = await pexec(cmd!, [...args, '-o', 'BatchMode=yes', 'hostname']);
      expect(r.stdout.trim()).toBe('host1');
      const viaCli = await cli(['env', 'ssh', out.id, 'host0', 'getent hosts host1']);
      expect(viaCli.stdout).toContain(out.hosts[1]!.address);
      const ls = JSON.parse((await cli(['env', 'ls', '--json'])).stdout) as { id: string }[];
      expect(ls.map((e) => e.id)).toContain(out.id);
    } finally {
      const down = await cli(['env', 'down', out.id]);
      expect(down.code, down.stderr).toBe(0);
    }
    expect(await leftoversOf(testConfig.dataDir, out.id)).toEqual([]);
  });

  it.each([
    [['env', 'up', '--hosts', '50'], /^labwright env: --hosts must be a whole number from 1 to 16, got "50"$/],
    [['env', 'up', '--hosts', '2', '--services', 'etcd,kafka'], /^labwright env: unknown service "kafka"/],
    [['env', 'up', 'no-such-lab'], /^labwright env: lab no-such-lab: .*cannot read the lab file/],
    [['env', 'down', '../etc'], /^labwright env: "..\/etc" is not an environment id/],
    [['env', 'ssh', 'lwzzzzz', 'host0'], /^labwright env: no environment lwzzzzz/],
  ])('%j fails with one clear line and no stack trace', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l && !l.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('says so in one line when not run as root', async () => {
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'lw-nobody-'));
    await fs.chmod(home, 0o777);
    try {
      const r = await cli(['env', 'up', '--hosts', '1'], { uid: 65534, env: { ...process.env, HOME: home, TMPDIR: home } });
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toMatch(/^labwright env: the local provider must run as root/);
    } finally {
      await fs.rm(home, { recursive: true, force: true });
    }
  });

  it('names the missing package when systemd-nspawn is not installed', async () => {
    // A PATH holding everything but systemd-nspawn.
    const bin = await fs.mkdtemp(path.join(os.tmpdir(), 'lw-path-'));
    try {
      for (const tool of ['sh', 'ip', 'mount', 'umount']) {
        const { stdout } = await pexec('sh', ['-c', `command -v ${tool}`]);
        await fs.symlink(stdout.trim(), path.join(bin, tool));
      }
      const r = await cli(['env', 'up', '--hosts', '1'], { env: { ...process.env, PATH: bin } });
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe('labwright env: systemd-nspawn not found: install the Debian package systemd-container (scripts/setup.sh does)');
    } finally {
      await fs.rm(bin, { recursive: true, force: true });
    }
  });
});
