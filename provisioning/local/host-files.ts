// Files written into a host's overlay before it boots: identity (hostname, machine-id, SSH host key),
// network (static address, /etc/hosts of the whole environment), access (authorized key) and services.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { generateKeyPair } from './ssh-keys.ts';
import type { EnvironmentSpec } from '../provider.ts';

export interface HostFilesInput {
  envId: string;
  /** Index into peers of the host being written. */
  index: number;
  peers: { name: string; address: string }[];
  prefix: number;
  authorizedKey: string;
  services: EnvironmentSpec['services'];
}

async function put(root: string, rel: string, content: string, mode = 0o644): Promise<void> {
  const file = path.join(root, rel);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content, { mode });
  await fs.chmod(file, mode);
}

async function enable(root: string, target: string, unit: string): Promise<void> {
  const link = path.join(root, 'etc/systemd/system', `${target}.wants`, unit);
  await fs.mkdir(path.dirname(link), { recursive: true });
  await fs.symlink(`/lib/systemd/system/${unit}`, link).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
}

export function etcdEnvironment(input: HostFilesInput): string {
  const self = input.peers[input.index]!;
  const cluster = input.peers.map((p) => `${p.name}=http://${p.address}:2380`).join(',');
  return [
    '# Written by labwright: one member per lab host, the whole cluster known up front.',
    `ETCD_NAME=${self.name}`,
    'ETCD_DATA_DIR=/var/lib/etcd/default',
    `ETCD_LISTEN_PEER_URLS=http://${self.address}:2380`,
    `ETCD_LISTEN_CLIENT_URLS=http://${self.address}:2379,http://127.0.0.1:2379`,
    `ETCD_INITIAL_ADVERTISE_PEER_URLS=http://${self.address}:2380`,
    `ETCD_ADVERTISE_CLIENT_URLS=http://${self.address}:2379`,
    `ETCD_INITIAL_CLUSTER=${cluster}`,
    'ETCD_INITIAL_CLUSTER_STATE=new',
    `ETCD_INITIAL_CLUSTER_TOKEN=${input.envId}`,
    // Members share one machine: short timeouts make the first election quick without risking flapping.
    'ETCD_HEARTBEAT_INTERVAL=50',
    'ETCD_ELECTION_TIMEOUT=500',
    '',
  ].join('\n');
}

export async function writeHostFiles(root: string, input: HostFilesInput): Promise<void> {
  const self = input.peers[input.index]!;
  const hosts = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', ...input.peers.map((p) => `${p.address}\t${p.name}`)];
  const hostKey = generateKeyPair(`root@${self.name}`);
  await Promise.all([
    put(root, 'etc/hostname', `${self.name}\n`),
    put(root, 'etc/hosts', `${hosts.join('\n')}\n`),
    put(root, 'etc/machine-id', `${randomBytes(16).toString('hex')}\n`, 0o444),
    put(
      root,
      'etc/systemd/network/80-container-host0.network',
      `[Match]\nName=host0\n\n[Network]\nAddress=${self.address}/${input.prefix}\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n`,
    ),
    put(root, 'root/.ssh/authorized_keys', `${input.authorizedKey.trim()}\n`, 0o600),
    put(root, 'etc/ssh/ssh_host_ed25519_key', hostKey.private, 0o600),
    put(root, 'etc/ssh/ssh_host_ed25519_key.pub', `${hostKey.public}\n`),
  ]);
  await fs.chmod(path.join(root, 'root/.ssh'), 0o700);
  if (input.services.etcd === 'cluster') {
    await put(root, 'etc/default/etcd', etcdEnvironment(input));
    // etcd binds the host's own address, so it must start after networkd has configured it (Debian's unit
    // only orders it after network.target); and a failed first start (peers slow on a busy machine) retries.
    await put(
      root,
      'etc/systemd/system/etcd.service.d/labwright.conf',
      '[Unit]\nAfter=network-online.target\n\n[Service]\nRestart=on-failure\nRestartSec=1s\n',
    );
    await enable(root, 'multi-user.target', 'etcd.service');
  }
  if (input.services.docker) {
    await enable(root, 'multi-user.target', 'docker.service');
    await enable(root, 'sockets.target', 'docker.socket');
  }
}
