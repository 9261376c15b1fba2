// The inventory provider against real hosts with real sshd (two local nspawn hosts standing in for
// machines someone already has): an environment with a host that is down is reported and never handed
// out, the good one is, checks and a terminal work over it (host1 through a jump host), and giving it
// back runs the lab's reset there. Only loopback and the hosts this test made are contacted.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshPool } from './ssh-pool.ts';
import type { Environment, EnvironmentSpec } from '../../provisioning/provider.ts';
import { ProvisionError } from '../../provisioning/provider.ts';
import type { LocalProvider } from '../../provisioning/local/local-provider.ts';
import { canRunHosts, sshRun, testProvider } from '../../provisioning/testing/host-test-support.ts';
import { loadInventory } from '../../provisioning/inventory/inventory-file.ts';
import { InventoryProvider } from '../../provisioning/inventory/inventory-provider.ts';

/** A loopback port nothing listens on (taken from the kernel, then closed). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe.skipIf(!canRunHosts)('inventory provider on real hosts', () => {
  let local: LocalProvider;
  let made: Environment | undefined;
  let dir: string;
  let inventory: InventoryProvider;
  const ssh = new SshPool();
  const spec: EnvironmentSpec = {
    hosts: ['host0', 'host1'],
    services: { etcd: 'none', docker: false },
    owner: 'test',
    reset: 'echo "reset by the lab" > /root/lw-reset-marker',
  };
  let env: Environment;

  beforeAll(async () => {
    local = await testProvider();
    made = await local.create({ hosts: ['host0', 'host1'], services: { etcd: 'none', docker: false }, owner: 'inventory-test' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-inventory-host-'));
    const [h0, h1] = made.hosts;
    const file = path.join(dir, 'inventory.yaml');
    fs.writeFileSync(
      file,
      [
        `defaults: { key: ${made.privateKeyPath}, user: root }`,
        'environments:',
        '  - name: broken',
        '    hosts:',
        `      - { name: host0, address: ${h0!.address} }`,
        `      - { name: host1, address: 127.0.0.1, port: ${await closedPort()} }`,
        '  - name: good',
        '    hosts:',
        `      - { name: host0, address: ${h0!.address} }`,
        `      - { name: host1, address: ${h1!.address}, jump: { address: ${h0!.address} } }`,
      ].join('\n'),
    );
    inventory = new InventoryProvider(loadInventory(file), { dataDir: dir });
    env = await inventory.create(spec);
  }, 300_000);

  afterAll(async () => {
    ssh.closeAll();
    if (made) await local.destroy(made);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('hands out the good environment and reports the one with a host that is down', async () => {
    expect(env.id).toMatch(/^good\./);
    const states = await inventory.states();
    expect(states[0]).toMatchObject({ name: 'broken', state: 'down', problem: expect.stringMatching(/^host1 \(root@127\.0\.0\.1:\d+\): .*ECONNREFUSED/) as string });
    expect(states[1]).toMatchObject({ name: 'good', state: 'held', id: env.id });
    const err = (await inventory.create(spec).catch((e: unknown) => e)) as ProvisionError;
    expect(err).toBeInstanceOf(ProvisionError);
    expect(err.message).toMatch(/^no environment free: the inventory has 2 for this lab, 1 held by others, 1 down \(broken: host1/);
  });

  it('runs checks over the server’s SSH connections, host1 through its jump host', async () => {
    expect((await ssh.get(env, 'host0')!.exec('hostname')).stdout.trim()).toBe('host0');
    const r = await ssh.get(env, 'host1')!.exec('hostname; echo "$SSH_CONNECTION"');
    const [name, conn] = r.stdout.trim().split('\n');
    expect(name).toBe('host1');
    // The connection to host1 comes from host0 (the jump host), not from this machine.
    expect(conn?.split(' ')[0]).toBe(made!.hosts[0]!.address);
  });

  it('opens a terminal (a PTY shell) on a host', async () => {
    const ch = await ssh.get(env, 'host1')!.shell({ rows: 24, cols: 80, term: 'xterm' }, 'tmux new-session -A -s lw-inventory-test');
    let out = '';
    ch.on('data', (d: Buffer) => (out += d.toString('utf8')));
    ch.write('echo term-$((6*7))\r');
    for (let i = 0; i < 100 && !out.includes('term-42'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('term-42');
    ch.close();
    expect((await sshRun(made!, 'host1', 'tmux has-session -t lw-inventory-test && echo alive')).stdout.trim()).toBe('alive');
  });

  it('given back, runs the lab reset and ends the previous shells on every host, then hands it out again', async () => {
    ssh.closeEnvironment(env.id);
    await inventory.destroy(env);
    for (const h of ['host0', 'host1']) {
      expect((await sshRun(made!, h, 'cat /root/lw-reset-marker')).stdout.trim()).toBe('reset by the lab');
    }
    expect((await sshRun(made!, 'host1', 'tmux has-session -t lw-inventory-test 2>/dev/null && echo alive || echo gone')).stdout.trim()).toBe('gone');
    expect((await inventory.states())[1]).toEqual({ name: 'good', state: 'free' });
    const again = await inventory.create(spec);
    expect(again.id).toMatch(/^good\./);
    expect(again.id).not.toBe(env.id);
    await inventory.destroy(again);
  });
});
