// What a spec becomes in LXD: unprivileged containers with their own id range, the configured limits, the
// environment's own network with no NAT/DHCP/DNS; VMs and remote (proxied) sshd where asked.
import { describe, expect, it } from 'vitest';
import { instanceBody, networkConfig } from './lxd-config.ts';
import type { InstanceInput } from './lxd-config.ts';
import { parseSubIds, pickBases, slotBases } from './lxd-idmap.ts';

const input: InstanceInput = {
  envId: 'lxabcde',
  index: 1,
  host: 'host1',
  address: '10.213.0.3',
  imageFingerprint: 'f00',
  limits: { memoryMb: 1024, cpus: 0.5, pids: 4096, diskGb: 4 },
  vm: false,
  idBase: 165536,
  meta: { spec: '{}', owner: 'test', createdAt: 1, creatorPid: 42 },
};

describe('instanceBody', () => {
  it('makes an unprivileged container in its own id range, with nesting for Docker and no profile', () => {
    const b = instanceBody(input) as { name: string; type: string; profiles: string[]; config: Record<string, string> };
    expect(b.name).toBe('lxabcde-1');
    expect(b.type).toBe('container');
    expect(b.profiles).toEqual([]);
    expect(b.config['security.idmap.isolated']).toBe('true');
    expect(b.config['security.idmap.base']).toBe('165536');
    expect(b.config['security.privileged']).toBeUndefined();
    expect(b.config['security.nesting']).toBe('true');
  });

  it('carries the LABWRIGHT_HOST_* limits: memory, processes, a CPU quota and the root disk size', () => {
    const b = instanceBody(input) as { config: Record<string, string>; devices: Record<string, Record<string, string>> };
    expect(b.config['limits.memory']).toBe('1024MiB');
    expect(b.config['limits.processes']).toBe('4096');
    expect(b.config['limits.cpu.allowance']).toBe('50ms/100ms');
    expect(b.devices.root).toMatchObject({ type: 'disk', path: '/', size: '4GiB' });
    expect(instanceBody({ ...input, limits: { ...input.limits, cpus: 0 } }).config).not.toHaveProperty('limits.cpu.allowance');
  });

  it("puts the host on its environment's network as host0 and records what adoption needs", () => {
    const b = instanceBody(input) as { config: Record<string, string>; devices: Record<string, Record<string, string>> };
    expect(b.devices.host0).toEqual({ type: 'nic', network: 'lxabcde', name: 'host0' });
    expect(b.config['user.labwright.env']).toBe('lxabcde');
    expect(b.config['user.labwright.address']).toBe('10.213.0.3');
    expect(b.config['user.labwright.status']).toBe('creating');
    expect(b.devices.ssh).toBeUndefined();
  });

  it('adds a proxy device to sshd when the daemon is remote', () => {
    const b = instanceBody({ ...input, sshPort: 23456 }) as { devices: Record<string, Record<string, string>> };
    expect(b.devices.ssh).toEqual({ type: 'proxy', listen: 'tcp:0.0.0.0:23456', connect: 'tcp:127.0.0.1:22', bind: 'host' });
  });

  it('asks for a virtual machine when the spec does', () => {
    const b = instanceBody({ ...input, vm: true }) as { type: string; config: Record<string, string> };
    expect(b.type).toBe('virtual-machine');
    expect(b.config['limits.cpu']).toBe('1');
  });
});

describe('networkConfig', () => {
  it('gives the bridge the gateway address and turns off NAT, DHCP, DNS, IPv6 and LXD’s own firewall', () => {
    expect(networkConfig('lxabcde', '10.213.0.1', 27)).toEqual({
      name: 'lxabcde',
      type: 'bridge',
      description: 'labwright environment lxabcde',
      config: { 'ipv4.address': '10.213.0.1/27', 'ipv4.nat': 'false', 'ipv4.dhcp': 'false', 'ipv4.firewall': 'false', 'ipv6.address': 'none', 'dns.mode': 'none' },
    });
  });
});

describe('id ranges', () => {
  it("takes whole 65536-id slots inside root's /etc/subuid and /etc/subgid ranges only", () => {
    const u = parseSubIds('_lxd:100000:10000001\nroot:100000:200000\nbob:1:99999\n');
    expect(u).toEqual([[100000, 200000]]);
    expect(slotBases(u, u)).toEqual([100000, 165536, 231072]);
    // Overlapping ranges (the package's and setup's) never yield overlapping slots.
    const both: [number, number][] = [[100000, 200000], [150000, 200000]];
    expect(slotBases(both, both)).toEqual([100000, 165536, 231072]);
  });

  it('skips ranges in use and says what to change when none is left', () => {
    expect(pickBases([1, 2, 3], new Set([1]), 2)).toEqual([2, 3]);
    expect(pickBases([1], new Set([1]), 1)).toMatch(/are in use .*root:200000000:1000000000/);
    expect(pickBases([], new Set(), 1)).toMatch(/no subordinate id range/);
  });
});
