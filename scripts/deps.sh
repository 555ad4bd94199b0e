#!/bin/sh
# Installs the Debian packages a fresh machine lacks; idempotent, says what it installs.
# Usage: scripts/deps.sh [extra packages...]
set -eu
PACKAGES="doctest-dev libstb-dev nlohmann-json3-dev libcli11-dev zlib1g-dev libsvm-dev libboost-context-dev dataset-fashion-mnist openmpi-bin libopenmpi-dev $*"
missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  echo "deps: all present ($PACKAGES)"
  exit 0
fi
echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
echo "deps: installed:$missing"
