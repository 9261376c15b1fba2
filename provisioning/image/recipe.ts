// What goes into the lab host image. Everything here is hashed: change any of it (a package, a line of
// the configure script) and the next `ensureImage` rebuilds; leave it alone and the cached image is reused.
import { createHash } from 'node:crypto';
import { labContentHash } from './lab-content.ts';

export const SUITE = 'bookworm';
export const MIRROR = 'http://deb.debian.org/debian';

/** Debian packages installed on top of debootstrap's minbase. Labs that need more add them here. */
export const PACKAGES: readonly string[] = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'etcd-server',
  'etcd-client',
  'iproute2',
  'iptables',
  'nginx-light',
  'curl',
  'jq',
  'tmux',
  'procps',
  'less',
  'vim-tiny',
  'docker.io',
  'busybox-static',
  'iputils-ping',
  'netcat-openbsd',
  'ca-certificates',
  'git',
  'dnsmasq-base',
  // For labs/: the redis container image's binaries, apt-ftparchive for the local apt mirror (lab-content.ts),
  // a private registry (disabled by default; labs/fleet-starter starts it).
  'redis-tools',
  'apt-utils',
  'docker-registry',
];

/** Container images made without any registry: name -> how the rootfs tarball is produced (see build-image.ts). */
export const CONTAINER_IMAGES: readonly string[] = ['busybox', 'redis'];

/** Where the image keeps container image tarballs; docker imports them when it first starts on a host. */
export const IMAGE_TARBALL_DIR = '/usr/share/labwright/images';

/**
 * Runs inside the new root (chroot) after the packages are installed. Services a lab asks for (etcd,
 * docker) are disabled here and enabled per environment, because an etcd member needs its peers' addresses.
 */
export const CONFIGURE_SCRIPT = `
set -eu
systemctl enable systemd-networkd.service >/dev/null 2>&1
for u in etcd.service docker.service docker.socket containerd.service nginx.service ssh.socket; do
  systemctl disable "$u" >/dev/null 2>&1 || true
done
systemctl enable ssh.service >/dev/null 2>&1
# Units that only cost boot time in a short-lived lab host (logind: no pam_systemd here, and it sat on
# the critical path to multi-user.target).
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \\
         man-db.timer logrotate.timer dpkg-db-backup.timer console-getty.service getty@tty1.service \\
         systemd-timesyncd.service systemd-logind.service; do
  systemctl mask "$u" >/dev/null 2>&1 || true
done
mkdir -p /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/labwright.conf <<'EOF'
# Lab hosts: root by key only; one fresh ed25519 host key per host, written before boot.
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
HostKey /etc/ssh/ssh_host_ed25519_key
MaxSessions 64
MaxStartups 64:30:128
# The post-quantum default KEX costs ~0.2 s of CPU per login; lab traffic never leaves this machine.
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256
EOF
rm -f /etc/ssh/ssh_host_*
mkdir -p /root/.ssh && chmod 700 /root/.ssh
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
printf '# lab hosts have no DNS; names come from /etc/hosts\\n' > /etc/resolv.conf
mkdir -p /etc/docker /etc/systemd/system/docker.service.d /usr/local/lib/labwright
cat > /etc/docker/daemon.json <<'EOF'
{ "storage-driver": "overlay2", "log-level": "warn" }
EOF
cat > /usr/local/lib/labwright/load-images <<'EOF'
#!/bin/sh
# Imports the container images shipped in the host image (no registry needed), once per host.
for t in ${IMAGE_TARBALL_DIR}/*.tar; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .tar)
  docker image inspect "$name" >/dev/null 2>&1 || docker import -c 'CMD ["sh"]' "$t" "$name:latest" >/dev/null
done
EOF
chmod 755 /usr/local/lib/labwright/load-images
cat > /etc/systemd/system/docker.service.d/labwright-images.conf <<'EOF'
[Service]
ExecStartPost=/usr/local/lib/labwright/load-images
EOF
# Shorter default stop timeout: hosts are thrown away, not shut down gracefully.
mkdir -p /etc/systemd/system.conf.d
printf '[Manager]\\nDefaultTimeoutStopSec=5s\\nDefaultTimeoutStartSec=60s\\n' > /etc/systemd/system.conf.d/labwright.conf
printf '[Journal]\\nStorage=volatile\\nRuntimeMaxUse=16M\\n' > /etc/systemd/journald.conf
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /usr/share/doc/* /usr/share/man/*
`;

/** Bump when the build procedure in build-image.ts changes in a way the fields above do not capture. */
const BUILD_PROCEDURE_VERSION = 2;

export function recipeHash(): string {
  const recipe = { SUITE, MIRROR, PACKAGES, CONTAINER_IMAGES, IMAGE_TARBALL_DIR, CONFIGURE_SCRIPT, BUILD_PROCEDURE_VERSION, labs: labContentHash() };
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 16);
}
