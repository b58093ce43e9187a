#!/usr/bin/env bash
# Installs the Debian packages twin needs at run time (open3d needs libusb-1.0-0 at import time;
# the EGL renderer for cameras needs libegl1, libegl-mesa0 and libgl1-mesa-dri)
# when any is missing. No-op when all are present; uses sudo only when not root.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
