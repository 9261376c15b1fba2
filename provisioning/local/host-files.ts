// Files written into a host's overlay before it boots: identity (hostname, machine-id, SSH host key),
// network (static address, /etc/hosts of the whole environment), access (authorized key) and services.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SEED_PLANTED_FILE } from './docker-seed.ts';
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
  /**
   * Unprivileged hosts: root inside is this uid on the server. Written through the mounted overlay as root
   * here, new files and directories would show up inside as nobody's; they are chowned to idBase instead.
   */
  idBase?: number;
  /**
   * The host's /var/lib/docker was planted from the image's Docker seed (docker-seed.ts): the container
   * images are imported already, so docker.service skips the import check (two Docker CLI runs, ~0.3 s
   * of CPU on its start-up path).
   */
  dockerSeeded?: boolean;
}

/**
 * Units of the image a lab host does not need, masked per host before boot (no image rebuild): kernel
 * command-line network units, utmp records, journal flush (the journal is volatile), tmp cleaning and
 * password agents — each a process or a watch on every boot. Labs rely on sshd, networkd, journald,
 * etcd, Docker and nginx, none of which is here.
 */
export const MASKED_UNITS: readonly string[] = [
  'systemd-network-generator.service',
  'systemd-journal-flush.service',
  'systemd-update-utmp.service',
  'systemd-update-utmp-runlevel.service',
  'systemd-tmpfiles-clean.timer',
  'systemd-ask-password-console.path',
  'systemd-ask-password-wall.path',
  // The image's system users exist already (made as its packages were installed); the root is not remounted.
  'systemd-sysusers.service',
  'systemd-remount-fs.service',
  // Two processes with nothing to do in a host: the image's sysctl.d sets only kernel.* and fs.* keys, read-only
  // inside nspawn (only /proc/sys/net is writable), and no tmpfiles.d line is under /dev (nspawn makes /dev).
  'systemd-sysctl.service',
  'systemd-tmpfiles-setup-dev.service',
];

/**
 * networkd and journald start sandboxed (a seccomp filter, a read-only mount namespace, device and IP BPF
 * programs), set up by systemd each time they start: ~30 ms of networkd's ~46 ms of boot CPU per host, ~8 ms of
 * journald's ~34 ms (3 hosts booting at once, A/B in one window). Inside a
 * lab host root is the attendee's, so this sandbox keeps nothing from anyone; the host's own isolation is nspawn's.
 * Users, capabilities and everything the services do are unchanged.
 */
export const UNSANDBOXED_DROP_IN = [
  '# Written by labwright: no per-service sandbox in a lab host (boot CPU).',
  '[Service]',
  'SystemCallFilter=',
  'SystemCallArchitectures=',
  'SystemCallErrorNumber=',
  'ProtectSystem=no',
  'ProtectHome=no',
  'ProtectProc=default',
  'ProtectClock=no',
  'ProtectKernelLogs=no',
  'ProtectKernelModules=no',
  'ProtectControlGroups=no',
  'RestrictNamespaces=no',
  'RestrictAddressFamilies=',
  'RestrictRealtime=no',
  'RestrictSUIDSGID=no',
  'MemoryDenyWriteExecute=no',
  'LockPersonality=no',
  'DeviceAllow=',
  'IPAddressDeny=',
  '',
].join('\n');

/** The units UNSANDBOXED_DROP_IN is written for. */
export const UNSANDBOXED_UNITS: readonly string[] = ['systemd-networkd.service', 'systemd-journald.service'];

/**
 * Go's collector in dockerd, containerd and etcd: at its default (GOGC=100) it runs again and again while each
 * starts (a small heap, much allocation). At 200 the three used ~35 ms less CPU per host to boot (A/B, 3 hosts
 * booting at once: dockerd 239 → 216 ms, containerd 72 → 60 ms, etcd about the same), for ~3 MB more resident
 * memory between them once booted (containerd +2.3 MB, etcd +0.8 MB, dockerd +0.5 MB, of ~140 MB).
 */
export const GO_GC_ENVIRONMENT = 'Environment=GOGC=200';

/**
 * systemd's generators, each a process run before any unit starts (~40 ms of CPU apiece here, twelve of them on
 * the boot's critical path). In a lab host they find nothing to do but pull in the masked console getty and the
 * root remount (no fstab, crypttab, kernel command line, rc.local or SysV-only script). A file of the same name
 * in /etc/systemd/system-generators pointing at /dev/null turns one off.
 */
export const DISABLED_GENERATORS: readonly string[] = [
  'systemd-cryptsetup-generator',
  'systemd-debug-generator',
  'systemd-fstab-generator',
  'systemd-getty-generator',
  'systemd-gpt-auto-generator',
  'systemd-hibernate-resume-generator',
  'systemd-integritysetup-generator',
  'systemd-rc-local-generator',
  'systemd-run-generator',
  'systemd-system-update-generator',
  'systemd-sysv-generator',
  'systemd-veritysetup-generator',
];

/**
 * containerd as Docker uses it (tasks through runc; images and layers stay Docker's): its CRI plugin (a
 * Kubernetes runtime, with CNI) and the snapshotters a lab host cannot use are not loaded.
 */
export const CONTAINERD_CONFIG = [
  '# Written by labwright: only what dockerd uses of containerd is loaded.',
  'version = 2',
  'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]',
  '',
  '[plugins]',
  '  [plugins."io.containerd.internal.v1.opt"]',
  '    path = "/var/lib/containerd/opt"',
  '',
].join('\n');

/** Gives what was just created at `p` (and its new parent directories up from `p`'s dirname to `firstNew`) to host root. */
async function own(p: string, idBase: number | undefined, firstNew?: string): Promise<void> {
  if (idBase === undefined) return;
  await fs.lchown(p, idBase, idBase);
  if (firstNew === undefined) return;
  for (let d = path.dirname(p); d.length >= firstNew.length; d = path.dirname(d)) await fs.lchown(d, idBase, idBase);
}

async function put(root: string, rel: string, content: string, mode = 0o644, idBase?: number): Promise<void> {
  const file = path.join(root, rel);
  const firstNew = await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content, { mode });
  await own(file, idBase, firstNew);
  // After the chown: a chown clears set-id bits, and writeFile's mode is masked by the umask.
  await fs.chmod(file, mode);
}

/** A symlink at rel (inside root) to target, given to host root; an existing one is left as it is. */
async function link(root: string, rel: string, target: string, idBase?: number): Promise<void> {
  const file = path.join(root, rel);
  const firstNew = await fs.mkdir(path.dirname(file), { recursive: true });
  const made = await fs.symlink(target, file).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
      return false;
    },
  );
  if (made) await own(file, idBase, firstNew);
}

async function enable(root: string, target: string, unit: string, idBase?: number): Promise<void> {
  const link = path.join(root, 'etc/systemd/system', `${target}.wants`, unit);
  const firstNew = await fs.mkdir(path.dirname(link), { recursive: true });
  const made = await fs.symlink(`/lib/systemd/system/${unit}`, link).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
      return false;
    },
  );
  if (made) await own(link, idBase, firstNew);
}

const peerUrl = (address: string): string => `http://${address}:2380`;

export function etcdEnvironment(input: HostFilesInput): string {
  const self = input.peers[input.index]!;
  const cluster = input.peers.map((p) => `${p.name}=${peerUrl(p.address)}`).join(',');
  return [
    '# Written by labwright: one member per lab host, the whole cluster known up front.',
    `ETCD_NAME=${self.name}`,
    'ETCD_DATA_DIR=/var/lib/etcd/default',
    `ETCD_LISTEN_PEER_URLS=${peerUrl(self.address)}`,
    `ETCD_LISTEN_CLIENT_URLS=http://${self.address}:2379,http://127.0.0.1:2379`,
    `ETCD_INITIAL_ADVERTISE_PEER_URLS=${peerUrl(self.address)}`,
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

/**
 * docker.service on a host whose /var/lib/docker is planted from the Docker seed (docker-seed.ts): the images are
 * there, so the image's import check after start is cleared; and the seed is copied in while the host boots, so
 * dockerd starts once the copy is complete (bounded ~10 s; the copy normally ends before dockerd would start).
 */
export function seededDockerDropIn(): string {
  const planted = `/var/lib/docker/${SEED_PLANTED_FILE}`;
  return [
    '# Written by labwright.',
    '[Service]',
    'ExecStartPost=',
    // No "$" in it: systemd would expand it itself. No process but the shell when the seed is there already.
    `ExecStartPre=/bin/sh -c 'test -e ${planted} || seq 400 | while read -r _; do test -e ${planted} && break; sleep 0.025; done; test -e ${planted}'`,
    '',
  ].join('\n');
}

/**
 * The member every other member asks first whether it was bootstrapped already: etcd sorts the peer URLs
 * and asks each in turn (GET /members), stopping at the first that answers.
 */
export function firstMember(peers: HostFilesInput['peers']): string {
  return [...peers].sort((a, b) => (peerUrl(a.address) < peerUrl(b.address) ? -1 : 1))[0]!.address;
}

/**
 * etcd's unit as a lab host runs it. On its first start (no data yet) a new member asks each peer, in URL order,
 * whether it was bootstrapped already, waiting up to 1 s per peer that accepted the connection but does not
 * answer — and a peer still doing the same check has its port bound but answers nothing yet. Members starting
 * together so waited 1–2 s for each other (seen in their journals between "advertise client URLs" and
 * "starting member"). So the first member in that order starts at once, and the others wait (on the first
 * start only, at most ~5 s) until it answers: their own check then ends at its answer, and it finds their
 * ports closed (refused at once).
 */
export function etcdDropIn(input: HostFilesInput): string {
  const self = input.peers[input.index]!;
  const first = firstMember(input.peers);
  const lines = [
    '# Written by labwright.',
    // etcd binds the host's own address, so it must start after networkd has configured it (Debian's unit
    // only orders it after network.target); and a failed first start (peers slow on a busy machine) retries.
    '[Unit]',
    'After=network-online.target',
    '',
    '[Service]',
    'Restart=on-failure',
    'RestartSec=1s',
    GO_GC_ENVIRONMENT,
  ];
  if (self.address !== first) {
    lines.push(
      `# First start only: wait until the member at ${first} answers (etcd asks it first whether this member exists).`,
      `ExecStartPre=-/bin/sh -c 'test -d /var/lib/etcd/default/member || seq 100 | while read -r _; do curl -so /dev/null -m 2 ${peerUrl(first)}/members && break; sleep 0.05; done'`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function writeHostFiles(root: string, input: HostFilesInput): Promise<void> {
  const self = input.peers[input.index]!;
  const hosts = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', ...input.peers.map((p) => `${p.address}\t${p.name}`)];
  const hostKey = generateKeyPair(`root@${self.name}`);
  const id = input.idBase;
  // One after another: two puts racing to create the same new directory would each miss chowning it.
  await put(root, 'etc/hostname', `${self.name}\n`, 0o644, id);
  await put(root, 'etc/hosts', `${hosts.join('\n')}\n`, 0o644, id);
  await put(root, 'etc/machine-id', `${randomBytes(16).toString('hex')}\n`, 0o444, id);
  await put(
    root,
    'etc/systemd/network/80-container-host0.network',
    `[Match]\nName=host0\n\n[Network]\nAddress=${self.address}/${input.prefix}\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n`,
    0o644,
    id,
  );
  await put(root, 'root/.ssh/authorized_keys', `${input.authorizedKey.trim()}\n`, 0o600, id);
  await put(root, 'etc/ssh/ssh_host_ed25519_key', hostKey.private, 0o600, id);
  await put(root, 'etc/ssh/ssh_host_ed25519_key.pub', `${hostKey.public}\n`, 0o644, id);
  await fs.chmod(path.join(root, 'root/.ssh'), 0o700);
  // sshd's config test before each start is one more process on the way to SSH answering; the image's config is fixed.
  await put(root, 'etc/systemd/system/ssh.service.d/labwright.conf', '[Service]\nExecStartPre=\n', 0o644, id);
  if (input.services.etcd === 'cluster') {
    await put(root, 'etc/default/etcd', etcdEnvironment(input), 0o644, id);
    await put(root, 'etc/systemd/system/etcd.service.d/labwright.conf', etcdDropIn(input), 0o644, id);
    await enable(root, 'multi-user.target', 'etcd.service', id);
  }
  if (input.services.docker) {
    await enable(root, 'multi-user.target', 'docker.service', id);
    await enable(root, 'sockets.target', 'docker.socket', id);
    // Replaces the image's drop-in of the same name: an empty ExecStartPost= clears the import check.
    if (input.dockerSeeded) await put(root, 'etc/systemd/system/docker.service.d/labwright-images.conf', seededDockerDropIn(), 0o644, id);
    await put(root, 'etc/containerd/config.toml', CONTAINERD_CONFIG, 0o644, id);
    await put(root, 'etc/systemd/system/docker.service.d/labwright.conf', `[Service]\n${GO_GC_ENVIRONMENT}\n`, 0o644, id);
    // No kernel modules to load from inside a host (modprobe fails there): one process less before containerd.
    await put(root, 'etc/systemd/system/containerd.service.d/labwright.conf', `[Service]\nExecStartPre=\n${GO_GC_ENVIRONMENT}\n`, 0o644, id);
  }
  for (const unit of UNSANDBOXED_UNITS) await put(root, `etc/systemd/system/${unit}.d/labwright.conf`, UNSANDBOXED_DROP_IN, 0o644, id);
  for (const unit of MASKED_UNITS) await link(root, `etc/systemd/system/${unit}`, '/dev/null', id);
  for (const g of DISABLED_GENERATORS) await link(root, `etc/systemd/system-generators/${g}`, '/dev/null', id);
  // multi-user, not graphical: nothing graphical is installed, one target less to reach.
  await fs.rm(path.join(root, 'etc/systemd/system/default.target'), { force: true });
  await link(root, 'etc/systemd/system/default.target', '/lib/systemd/system/multi-user.target', id);
}
