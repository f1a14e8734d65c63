#!/usr/bin/env bash
# Install the system packages FieldApp needs, when they are missing and we are allowed to.
# Usage: system-deps.sh test   (what the test suite needs: offscreen Qt, and nginx)
#        system-deps.sh run    (Qt for a real window on X11/XWayland; no nginx)
set -euo pipefail

test_pkgs=(libegl1 libgl1 libfontconfig1 libxkbcommon0 libglib2.0-0 libdbus-1-3 libfreetype6)
run_pkgs=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
          libxcb-randr0 libxcb-shape0 libxcb-xkb1 libxcb-xinerama0 libxkbcommon-x11-0)
# The tests only: a real nginx in front of the server, configured as docs/server.md says
# (tests/server/test_behind_nginx.py). On Debian 12 `nginx` is the smallest package with it.
check_pkgs=(nginx)

pkgs=("${test_pkgs[@]}")
if [[ "${1:-test}" == run ]]; then pkgs+=("${run_pkgs[@]}"); else pkgs+=("${check_pkgs[@]}"); fi

command -v dpkg-query >/dev/null 2>&1 || exit 0   # not Debian/Ubuntu: the libraries are the user's to provide

missing=()
for pkg in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "FieldApp needs these system packages: ${missing[*]}" >&2
    echo "Install them with: apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "Installing system packages: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
