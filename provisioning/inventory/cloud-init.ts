// Makes the example cloud-init user-data (example-user-data.yaml) that prepares a Debian 12 machine as a
// lab host for an inventory: the same packages, sshd settings and overlay agent as the nspawn image recipe,
// so the two cannot drift apart (cloud-init.test.ts compares the shipped file with this output).
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { HOST_FILES, hostFileSource } from '../image/lab-content.ts';
import { PACKAGES } from '../image/recipe.ts';

/**
 * Replaced per host before the file is handed to the cloud (sed, or Terraform's replace(); not templatefile(),
 * whose ${…} would collide with the shell in the file):
 * this host's lab name, every host of its environment (name=address, the etcd cluster and /etc/hosts),
 * and the public key the Labwright server logs in with.
 */
export const PLACEHOLDERS = {
  name: '@HOST_NAME@',
  peers: '@PEERS@',
  key: '@SERVER_PUBLIC_KEY@',
} as const;

/** sshd as on a local host: root by key only, room for a terminal, checks and previews at once. */
const SSHD_CONF = `# Lab hosts: root by key only (the Labwright server logs in as root).
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
MaxSessions 64
MaxStartups 64:30:128
`;

/** Runs once, after the packages: /etc/hosts, etcd's cluster settings, then the services labs expect. */
const PREPARE = `#!/bin/sh
# Written by cloud-init from Labwright's example user-data: makes this machine a ready lab host.
set -eu
. /etc/labwright/host.env
hostnamectl set-hostname "$LW_HOST_NAME"
# Every host of the environment by its lab name (labs say host1, not an address).
cluster=''
self=''
for p in $LW_PEERS; do
  name=$(echo "$p" | cut -d= -f1); addr=$(echo "$p" | cut -d= -f2)
  grep -q "[[:space:]]$name\\$" /etc/hosts || printf '%s\\t%s\\n' "$addr" "$name" >> /etc/hosts
  [ -z "$cluster" ] || cluster="$cluster,"
  cluster="$cluster$name=http://$addr:2380"
  if [ "$name" = "$LW_HOST_NAME" ]; then self=$addr; fi
done
if [ -z "$self" ]; then echo "prepare-host: $LW_HOST_NAME is not in LW_PEERS ($LW_PEERS)" >&2; exit 1; fi
cat > /etc/default/etcd <<EOF
# One member per lab host, the whole cluster known up front (as on Labwright's local hosts).
ETCD_NAME=$LW_HOST_NAME
ETCD_DATA_DIR=/var/lib/etcd/default
ETCD_LISTEN_PEER_URLS=http://$self:2380
ETCD_LISTEN_CLIENT_URLS=http://$self:2379,http://127.0.0.1:2379
ETCD_INITIAL_ADVERTISE_PEER_URLS=http://$self:2380
ETCD_ADVERTISE_CLIENT_URLS=http://$self:2379
ETCD_INITIAL_CLUSTER=$cluster
ETCD_INITIAL_CLUSTER_STATE=new
ETCD_INITIAL_CLUSTER_TOKEN=labwright
EOF
mkdir -p /etc/systemd/system/etcd.service.d
printf '[Unit]\\nAfter=network-online.target\\n\\n[Service]\\nRestart=on-failure\\nRestartSec=1s\\n' > /etc/systemd/system/etcd.service.d/labwright.conf
# Services were kept from starting while packages installed (policy-rc.d): etcd must not bootstrap alone.
rm -f /usr/sbin/policy-rc.d
systemctl daemon-reload
systemctl disable --now nginx.service docker-registry.service lw-overlay.service 2>/dev/null || true
systemctl enable --now etcd.service docker.service ssh.service
systemctl restart ssh.service
`;

export function cloudInitUserData(): string {
  const files = HOST_FILES.map((f) => ({
    path: f.dest,
    permissions: `0${f.mode.toString(8)}`,
    content: readFileSync(hostFileSource(f), 'utf8'),
  }));
  const doc = {
    // Root logs in with the server's key only (labs run their commands as root).
    disable_root: false,
    hostname: PLACEHOLDERS.name,
    // /etc/hosts lists the environment's hosts (prepare-host); cloud-init must not rewrite it at boot.
    manage_etc_hosts: false,
    users: [{ name: 'root', ssh_authorized_keys: [PLACEHOLDERS.key] }],
    ssh_pwauth: false,
    // No service starts while packages install: etcd would bootstrap a one-member cluster of its own.
    bootcmd: ["printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d"],
    package_update: true,
    packages: [...PACKAGES],
    write_files: [
      { path: '/etc/labwright/host.env', permissions: '0644', content: `LW_HOST_NAME=${PLACEHOLDERS.name}\nLW_PEERS="${PLACEHOLDERS.peers}"\n` },
      { path: '/etc/ssh/sshd_config.d/labwright.conf', permissions: '0644', content: SSHD_CONF },
      ...files,
      { path: '/usr/local/lib/labwright/prepare-host', permissions: '0755', content: PREPARE },
    ],
    runcmd: ['/usr/local/lib/labwright/prepare-host'],
  };
  const header = [
    '#cloud-config',
    '# Labwright: prepares a Debian 12 (bookworm) machine as a lab host for LABWRIGHT_PROVIDER=inventory.',
    '# Made by provisioning/inventory/cloud-init.ts from the nspawn image recipe (same packages, sshd',
    '# settings and overlay agent); do not edit by hand. Replace per host before use (sed, or Terraform replace()):',
    `#   ${PLACEHOLDERS.name}          this host's name in the labs: host0, host1, …`,
    `#   ${PLACEHOLDERS.peers}              every host of its environment, "host0=10.0.0.10 host1=10.0.0.11 host2=10.0.0.12"`,
    `#   ${PLACEHOLDERS.key}  the public key of the private key the inventory file names (root logs in with it)`,
    '',
  ].join('\n');
  return header + stringify(doc, { lineWidth: 0, blockQuote: 'literal' });
}
