#!/usr/bin/env bash
# Installs what Labwright needs on a Debian 12 machine, idempotently: Debian packages, npm packages,
# and the cached host image. Fast when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
# nginx-light: the reverse-proxy test runs the README's nginx snippet; gcc + libc6-dev: the small
# idmap helper that lets local hosts run unprivileged (built once into the cache dir).
for p in systemd-container debootstrap chromium openssh-client iproute2 iptables nginx-light gcc libc6-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "setup: need root to install: ${need_pkgs[*]}" >&2; exit 1; fi
  echo "setup: installing Debian packages: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >/dev/null
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
