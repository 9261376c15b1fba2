import { describe, expect, it } from 'vitest';
import { etcdDropIn, firstMember } from './host-files.ts';
import type { HostFilesInput } from './host-files.ts';

const input = (index: number, addresses: string[]): HostFilesInput => ({
  envId: 'lwtest1',
  index,
  peers: addresses.map((address, i) => ({ name: `host${i}`, address })),
  prefix: 27,
  authorizedKey: 'ssh-ed25519 AAAA test',
  services: { etcd: 'cluster', docker: false },
});

describe("etcd's unit drop-in on a lab host", () => {
  const addresses = ['10.1.2.98', '10.1.2.99', '10.1.2.100'];

  it('names as first member the one etcd asks first: the lowest peer URL as a string, not the lowest address', () => {
    expect(firstMember(input(0, addresses).peers)).toBe('10.1.2.100');
  });

  it('starts the first member at once and makes every other wait, on its first start only, for that member to answer', () => {
    expect(etcdDropIn(input(2, addresses))).not.toContain('ExecStartPre');
    for (const i of [0, 1]) {
      const unit = etcdDropIn(input(i, addresses));
      expect(unit).toMatch(/^ExecStartPre=-\/bin\/sh -c 'test -d \/var\/lib\/etcd\/default\/member \|\| .*curl .*http:\/\/10\.1\.2\.100:2380\/members .*'$/m);
    }
  });

  it('keeps ordering etcd after the network and restarting it after a failed start', () => {
    for (const i of [0, 1, 2]) expect(etcdDropIn(input(i, addresses))).toMatch(/\[Unit\]\nAfter=network-online.target\n\n\[Service\]\nRestart=on-failure\nRestartSec=1s\n/);
  });
});
