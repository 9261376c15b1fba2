#!/usr/bin/env bash
# Installs what Labwright needs on a Debian 12 machine, idempotently: Debian packages, npm packages,
# and the cached host image. Fast when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
# nginx-light: the reverse-proxy test runs the README's nginx snippet; gcc + libc6-dev: the small
# idmap helper that lets local hosts run unprivileged (built once into the cache dir).
# lxd + btrfs-progs + dnsmasq-base: the lxd provider's own daemon (LABWRIGHT_PROVIDER=lxd, and its test) with a
# copy-on-write btrfs pool; LXD needs dnsmasq's binary for any bridge it manages, even with DHCP off.
for p in systemd-container debootstrap chromium openssh-client iproute2 iptables nginx-light gcc libc6-dev lxd lxd-client btrfs-progs dnsmasq-base; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "setup: need root to install: ${need_pkgs[*]}" >&2; exit 1; fi
  echo "setup: installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# Isolated LXD containers take 65536 ids each from root's subordinate range; Debian's lxd package gives root
# 10 M ids (152 hosts). A larger range, far below the local provider's (0x70000000 and up), for big rooms.
if [ "$(id -u)" -eq 0 ]; then
  for f in /etc/subuid /etc/subgid; do
    grep -q '^root:200000000:1000000000$' "$f" 2>/dev/null || echo 'root:200000000:1000000000' >> "$f"
  done
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.labwright-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

# The lab host image (debootstrap + packages, about a minute the first time; cached by recipe hash).
if [ "$(id -u)" -eq 0 ]; then
  node bin/labwright.mjs env image
else
  echo "setup: not root: skipping the lab host image (run: sudo npx labwright env image)" >&2
fi
