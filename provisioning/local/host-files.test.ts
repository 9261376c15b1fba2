import { describe, expect, it } from 'vitest';
import { SEED_PLANTED_FILE } from './docker-seed.ts';
import { etcdDropIn, firstMember, seededDockerDropIn } from './host-files.ts';
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

describe("docker.service's drop-in on a host planted from the Docker seed", () => {
  it('clears the import check and starts dockerd only once the seed copied during boot is complete', () => {
    const unit = seededDockerDropIn();
    expect(unit).toMatch(/^\[Service\]\nExecStartPost=\n/m);
    const pre = /^ExecStartPre=\/bin\/sh -c '(.*)'$/m.exec(unit)?.[1] ?? '';
    // Not "-ExecStartPre": a seed that never completes fails docker.service instead of starting an empty Docker.
    expect(pre).toMatch(new RegExp(`test -e /var/lib/docker/${SEED_PLANTED_FILE.replace('.', '\\.')}'?$`));
    expect(pre).toMatch(/seq 400 \| while read -r _; do .*sleep 0\.025; done/);
    // systemd expands "$" in command lines itself.
    expect(pre).not.toContain('$');
  });
});
