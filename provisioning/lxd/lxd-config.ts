// What an environment becomes in LXD, as plain data: its network (a bridge of its own, no NAT, no DHCP,
// no DNS, no LXD firewall — ours), and each host's instance (unprivileged, own id range, limits, devices).
import { randomBytes } from 'node:crypto';
import { STORAGE_POOL } from './lxd-daemon.ts';

/** Environment ids of this provider: "lx" + 5 lowercase letters/digits (local ones start with "lw"). */
export const LXD_ENV_ID_RE = /^lx[a-z0-9]{5}$/;
export const LXD_INSTANCE_RE = /^(lx[a-z0-9]{5})-(\d{1,2})$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function newLxdEnvId(): string {
  let s = 'lx';
  for (const b of randomBytes(5)) s += ALPHABET[b % ALPHABET.length];
  return s;
}

export const instanceName = (envId: string, index: number): string => `${envId}-${index}`;
/** The environment's LXD network; also the Linux bridge's name (≤ 15 characters). */
export const networkName = (envId: string): string => envId;

/** Keys under user.* on each instance: the state of the environment lives in LXD itself (adoption after a restart). */
export const KEY = {
  env: 'user.labwright.env',
  host: 'user.labwright.host',
  index: 'user.labwright.index',
  status: 'user.labwright.status',
  owner: 'user.labwright.owner',
  spec: 'user.labwright.spec',
  address: 'user.labwright.address',
  sshPort: 'user.labwright.ssh-port',
  createdAt: 'user.labwright.created-at',
  creatorPid: 'user.labwright.creator-pid',
} as const;

export interface LxdLimits {
  memoryMb: number;
  /** 0: no CPU quota. Fractions allowed (a quota, like the local provider's cpu.max). */
  cpus: number;
  pids: number;
  diskGb: number;
}

export function networkConfig(envId: string, gateway: string, prefix: number): { name: string; type: 'bridge'; description: string; config: Record<string, string> } {
  return {
    name: networkName(envId),
    type: 'bridge',
    description: `labwright environment ${envId}`,
    config: {
      'ipv4.address': `${gateway}/${prefix}`,
      'ipv4.nat': 'false',
      'ipv4.dhcp': 'false',
      // LXD's own rules (FORWARD REJECT with routing off) also reject traffic between hosts of one bridge when
      // bridge-nf-call-iptables=1, and stay behind after the network is deleted: we add and remove our own.
      'ipv4.firewall': 'false',
      'ipv6.address': 'none',
      'dns.mode': 'none',
    },
  };
}

export interface InstanceInput {
  envId: string;
  index: number;
  host: string;
  address: string;
  imageFingerprint: string;
  limits: LxdLimits;
  vm: boolean;
  /** A proxy device for sshd on this port of the member (remote daemons), else the bridge address is used. */
  sshPort?: number;
  /** First host id of the container's own 65536 ids (lxd-idmap.ts). */
  idBase?: number;
  /** Recorded for adoption (JSON of the spec, owner, creation time, creator). */
  meta: { spec: string; owner?: string; createdAt: number; creatorPid: number };
}

/** The POST /1.0/instances body of one host. */
export function instanceBody(i: InstanceInput): Record<string, unknown> {
  const config: Record<string, string> = {
    'security.idmap.isolated': 'true',
    // Docker inside a container needs nesting (its own namespaces, overlay mounts).
    'security.nesting': 'true',
    'boot.autostart': 'false',
    'limits.memory': `${i.limits.memoryMb}MiB`,
    'limits.processes': String(i.limits.pids),
    [KEY.env]: i.envId,
    [KEY.host]: i.host,
    [KEY.index]: String(i.index),
    [KEY.status]: 'creating',
    [KEY.spec]: i.meta.spec,
    [KEY.address]: i.address,
    [KEY.createdAt]: String(i.meta.createdAt),
    [KEY.creatorPid]: String(i.meta.creatorPid),
  };
  if (i.meta.owner) config[KEY.owner] = i.meta.owner;
  if (i.idBase !== undefined) config['security.idmap.base'] = String(i.idBase);
  if (i.limits.cpus > 0) config['limits.cpu.allowance'] = `${Math.round(i.limits.cpus * 100)}ms/100ms`;
  if (i.vm) {
    delete config['security.idmap.isolated'];
    delete config['security.nesting'];
    delete config['limits.processes'];
    config['limits.cpu'] = String(Math.max(1, Math.ceil(i.limits.cpus || 1)));
    delete config['limits.cpu.allowance'];
  }
  const devices: Record<string, Record<string, string>> = {
    root: { type: 'disk', path: '/', pool: STORAGE_POOL, size: `${i.limits.diskGb}GiB` },
    // Named like the nspawn hosts' interface, so the image's network files fit both.
    host0: { type: 'nic', network: networkName(i.envId), name: 'host0' },
  };
  if (i.sshPort !== undefined) {
    devices.ssh = { type: 'proxy', listen: `tcp:0.0.0.0:${i.sshPort}`, connect: 'tcp:127.0.0.1:22', bind: 'host' };
    config[KEY.sshPort] = String(i.sshPort);
  }
  return {
    name: instanceName(i.envId, i.index),
    type: i.vm ? 'virtual-machine' : 'container',
    description: `labwright ${i.envId} ${i.host}`,
    profiles: [],
    ephemeral: false,
    source: { type: 'image', fingerprint: i.imageFingerprint },
    config,
    devices,
  };
}

/**
 * Files each container gets besides the local provider's host files: networkd in an unprivileged container
 * stays "pending" with a writable /sys and no udev; a read-only /sys makes it configure host0 at once.
 */
export const EXTRA_FILES: { path: string; content: string }[] = [
  { path: 'etc/systemd/system/systemd-networkd.service.d/labwright-lxd.conf', content: '[Service]\nReadOnlyPaths=/sys\n' },
];
