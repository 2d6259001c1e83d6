#!/usr/bin/env bash
# Installs the Debian packages the tests drive (promtool, ...) when a tool
# they provide is missing. Needs root or sudo, as on CI.
set -euo pipefail
declare -A tool=([prometheus]=promtool [haproxy]=haproxy [openssh-server]=sshd [docker.io]=dockerd)
missing=()
for pkg in "$@"; do
  t=${tool[$pkg]:-$pkg}
  command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} (Debian packages the tests use)"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
