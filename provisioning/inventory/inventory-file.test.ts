import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InventoryError, parseInventory } from './inventory-file.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lw-inventory-'));
const key = path.join(dir, 'id_ed25519');
fs.writeFileSync(key, 'KEY');
const file = path.join(dir, 'inventory.yaml');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function problems(text: string, sock?: string): string[] {
  try {
    parseInventory(text, file, sock);
  } catch (e) {
    if (e instanceof InventoryError) return e.problems;
    throw e;
  }
  throw new Error('parsed without problems');
}

describe('inventory file', () => {
  it('reads environments of hosts with defaults, relative key paths, an agent and a jump host', () => {
    const inv = parseInventory(
      [
        'defaults:',
        '  key: id_ed25519',
        'environments:',
        '  - name: team-a',
        '    hosts:',
        '      - { name: host0, address: 10.0.0.10 }',
        '      - { name: host1, address: 10.0.0.11, port: 2222, user: debian, agent: true }',
        '  - name: team-b',
        '    hosts:',
        '      - name: host0',
        '        address: 192.168.5.20',
        '        jump: { address: bastion.example.org, user: ops }',
      ].join('\n'),
      file,
      '/run/agent.sock',
    );
    expect(inv.environments.map((e) => e.name)).toEqual(['team-a', 'team-b']);
    expect(inv.environments[0]!.hosts[0]).toEqual({ name: 'host0', address: '10.0.0.10', port: 22, user: 'root', keyPath: key });
    // A host naming its own credential takes none of the defaults'.
    expect(inv.environments[0]!.hosts[1]).toEqual({ name: 'host1', address: '10.0.0.11', port: 2222, user: 'debian', agent: '/run/agent.sock' });
    expect(inv.environments[1]!.hosts[0]!.jump).toEqual({ address: 'bastion.example.org', port: 22, user: 'ops', keyPath: key });
    expect(inv.environments[1]!.line).toBe(8);
  });

  it('reads JSON too (JSON is YAML)', () => {
    const inv = parseInventory(JSON.stringify({ environments: [{ name: 'e1', hosts: [{ name: 'host0', address: '127.0.0.1', key }] }] }), file);
    expect(inv.environments[0]!.hosts[0]!.keyPath).toBe(key);
  });

  it('says file:line for each bad field', () => {
    const text = [
      'environments:', //           1
      '  - name: Team A', //        2
      '    hosts:', //              3
      '      - name: host0', //     4
      '        address: 10.0.0.1', // 5
      '        port: 70000', //     6
      '        key: id_ed25519', // 7
      '        pasword: x', //      8
    ].join('\n');
    const p = problems(text);
    expect(p).toContainEqual(expect.stringMatching(new RegExp(`^${file}:2: environments\\.0\\.name: must be lowercase`)));
    expect(p).toContainEqual(expect.stringMatching(new RegExp(`^${file}:6: environments\\.0\\.hosts\\.0\\.port: `)));
    expect(p.some((x) => x.startsWith(`${file}:4:`) && x.includes('pasword'))).toBe(true);
  });

  it('refuses hosts without a way to log in, missing key files, agent without SSH_AUTH_SOCK, duplicates, bad YAML', () => {
    expect(problems('environments:\n  - name: a\n    hosts:\n      - { name: host0, address: 10.0.0.1 }\n')).toEqual([
      `${file}:4: no way to log in: give \`key:\` (a private key file) or \`agent:\` (here or in defaults)`,
    ]);
    expect(problems('environments:\n  - name: a\n    hosts:\n      - name: host0\n        address: 10.0.0.1\n        key: nope\n')[0]).toBe(
      `${file}:6: key file ${path.join(dir, 'nope')} does not exist`,
    );
    expect(problems('environments:\n  - name: a\n    hosts:\n      - { name: host0, address: 10.0.0.1, agent: true }\n')[0]).toContain(':4: agent: true, but SSH_AUTH_SOCK is not set');
    const dup = problems(
      `defaults: { key: ${key} }\nenvironments:\n  - name: a\n    hosts:\n      - { name: host0, address: a }\n      - { name: host0, address: b }\n  - name: a\n    hosts: [{ name: host0, address: c }]\n`,
    );
    expect(dup).toEqual([`${file}:6: host name host0 appears twice in environment a`, `${file}:7: environment name a is already used on line 3`]);
    expect(problems('environments: [\n')[0]).toMatch(new RegExp(`^${file}:\\d+: `));
    expect(problems('hosts: []\n')[0]).toMatch(new RegExp(`^${file}:1:`));
  });
});

describe('the shipped example inventory', () => {
  it('parses: three environments of host0..host2, one behind a jump host with the agent', () => {
    const example = path.join(import.meta.dirname, 'example-inventory.yaml');
    const text = fs.readFileSync(example, 'utf8');
    // Its key file is the operator's to make: point it at one that exists here.
    const inv = parseInventory(text.replace('keys/labwright_ed25519', key), example, '/run/agent.sock');
    expect(inv.environments.map((e) => [e.name, e.hosts.map((h) => h.name)])).toEqual([
      ['team-1', ['host0', 'host1', 'host2']],
      ['team-2', ['host0', 'host1', 'host2']],
      ['team-3', ['host0', 'host1', 'host2']],
    ]);
    expect(inv.environments[2]!.hosts[0]).toEqual({
      name: 'host0',
      address: '192.168.30.10',
      port: 22,
      user: 'root',
      agent: '/run/agent.sock',
      jump: { address: 'bastion.example.org', port: 22, user: 'labwright', agent: '/run/agent.sock' },
    });
  });
});
