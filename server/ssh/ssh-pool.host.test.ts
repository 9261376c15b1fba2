// SshPool against real lab hosts: one connection per host reused by exec, a shell channel beside
// it, concurrent checks across hosts, and closing an environment's connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalProvider } from '../../provisioning/local/local-provider.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { loadConfig } from '../config.ts';
import { SshError } from './ssh-connection.ts';
import { SshPool } from './ssh-pool.ts';

const provider = createLocalProvider(loadConfig());
const pool = new SshPool();
let env: Environment;

beforeAll(async () => {
  env = await provider.create({ hosts: ['host0', 'host1'], services: { etcd: 'none', docker: false }, owner: 'ssh-pool test' });
});
afterAll(async () => {
  pool.closeAll();
  if (env) await provider.destroy(env);
});

describe('SshPool on real hosts', () => {
  it('runs commands on each host over one reused connection', async () => {
    const c0 = pool.get(env, 'host0')!;
    expect(pool.get(env, 'host0')).toBe(c0);
    const names = await Promise.all(['host0', 'host1', 'host0', 'host1'].map((h) => pool.get(env, h)!.exec('hostname')));
    expect(names.map((r) => r.stdout.trim())).toEqual(['host0', 'host1', 'host0', 'host1']);
    expect(pool.get(env, 'host9')).toBeUndefined();
  });

  it('a command that outlives its timeout is a timeout error and the connection stays usable', async () => {
    const c = pool.get(env, 'host1')!;
    await expect(c.exec('sleep 5', { timeoutMs: 200 })).rejects.toMatchObject({ code: 'timeout' });
    expect((await c.exec('echo ok')).stdout).toBe('ok\n');
  });

  it('opens a shell channel next to exec channels', async () => {
    const shell = await pool.get(env, 'host0')!.shell({ term: 'xterm', cols: 80, rows: 24, height: 0, width: 0 });
    const seen = new Promise<string>((resolve) => {
      let buf = '';
      shell.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        if (buf.includes('marker-42')) resolve(buf);
      });
    });
    shell.write('echo marker-$((40+2))\n');
    expect(await seen).toContain('marker-42');
    shell.close();
  });

  it('closing the environment closes its connections', async () => {
    const c = pool.get(env, 'host0')!;
    pool.closeEnvironment(env.id);
    const e: unknown = await c.exec('true').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SshError);
    expect((e as SshError).code).toBe('closed');
    // A new connection is made on demand.
    expect((await pool.get(env, 'host0')!.exec('echo again')).stdout).toBe('again\n');
  });
});
