#!/usr/bin/env bash
# deps.sh - install the Debian packages rcn needs to build and run, when missing.
# Idempotent: does nothing (and needs no root) when everything is present.
set -euo pipefail
pkgs=(gcc make libc6-dev libopenblas-dev libopenmpi-dev openmpi-bin libjansson-dev
      zlib1g-dev nodejs npm ca-certificates jq gnuplot-nox)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from elsewhere than Debian (e.g. NodeSource): accept them on PATH.
if command -v npm >/dev/null 2>&1; then
    missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "deps: apt-get update (the package lists)" >&2
$SUDO apt-get update -qq
echo "deps: apt-get install ${missing[*]}" >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}" >&2
