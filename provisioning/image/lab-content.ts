// What the labs in labs/ need in the host image beyond the base recipe: the overlay agent (lw-overlay), a
// Debian base root filesystem for `docker import`, a small local apt mirror (Node.js) that containers install
// from without internet, and the binaries of the `redis` container image. All of it is part of the recipe hash.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** A file of this folder copied into the image. */
export interface HostFile {
  /** Relative to provisioning/image/. */
  src: string;
  dest: string;
  mode: number;
}

export const HOST_FILES: readonly HostFile[] = [
  { src: 'overlay/lw-overlay', dest: '/usr/local/bin/lw-overlay', mode: 0o755 },
  { src: 'overlay/lw-overlay.service', dest: '/etc/systemd/system/lw-overlay.service', mode: 0o644 },
];

export function hostFileSource(f: HostFile): string {
  return path.join(import.meta.dirname, f.src);
}

/**
 * debootstrap's minbase tree, saved before any host package is installed: the `debian:bookworm` base image a
 * lab imports with `docker import` (the stand-in for `docker pull`). Not imported at docker start, because it
 * is ~100 MB and most labs never use it.
 */
export const BASE_ROOTFS_TARBALL = '/usr/share/labwright/rootfs/debian-bookworm.tar';

/**
 * A flat apt repository holding these packages and every dependency a minbase system lacks, served on each
 * host at APT_MIRROR_PORT (lw-apt.service), so that `RUN apt-get install nodejs` in a Dockerfile works offline.
 */
export const APT_MIRROR_DIR = '/usr/share/labwright/apt';
export const APT_MIRROR_PACKAGES: readonly string[] = ['nodejs', 'mariadb-server', 'mariadb-client'];
export const APT_MIRROR_PORT = 3142;

/**
 * Container images beyond busybox: binaries taken from the host image (source → path in the container),
 * added to the busybox tree together with the shared libraries they load.
 */
export const CONTAINER_IMAGE_BINARIES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  // Debian ships redis-server as a symlink to redis-check-rdb (one binary that looks at argv[0]).
  redis: { '/usr/bin/redis-check-rdb': '/usr/bin/redis-server', '/usr/bin/redis-cli': '/usr/bin/redis-cli' },
};

/** Runs in the new root after CONFIGURE_SCRIPT (packages installed, HOST_FILES copied). */
export const LABS_CONFIGURE_SCRIPT = `
set -eu
cd ${APT_MIRROR_DIR}
rm -rf partial lock
apt-ftparchive packages . > Packages
apt-ftparchive release . > Release
cat > /etc/systemd/system/lw-apt.service <<'EOF'
# A Debian package mirror for containers on this host (the lab hosts have no internet): a flat repository
# of ${APT_MIRROR_PACKAGES.join(', ')} and their dependencies. In a Dockerfile:
#   RUN echo 'deb [trusted=yes] http://172.17.0.1:${APT_MIRROR_PORT} ./' > /etc/apt/sources.list
[Unit]
Description=Local Debian package mirror for containers (port ${APT_MIRROR_PORT})

[Service]
ExecStart=/bin/busybox httpd -f -p ${APT_MIRROR_PORT} -h ${APT_MIRROR_DIR}

[Install]
WantedBy=multi-user.target
EOF
systemctl enable lw-apt.service >/dev/null 2>&1
# A lab starts the registry when it needs one.
systemctl disable docker-registry.service >/dev/null 2>&1 || true
`;

export function labContentHash(): string {
  const files = HOST_FILES.map((f) => ({ ...f, content: readFileSync(hostFileSource(f), 'utf8') }));
  const content = { files, BASE_ROOTFS_TARBALL, APT_MIRROR_DIR, APT_MIRROR_PACKAGES, APT_MIRROR_PORT, CONTAINER_IMAGE_BINARIES, LABS_CONFIGURE_SCRIPT };
  return createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 16);
}
