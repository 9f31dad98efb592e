#!/usr/bin/env bash
# Installs the Debian 12 packages releasebot builds and tests with, if any is missing.
set -euo pipefail

packages=(
  ca-certificates cmake ninja-build g++ ccache pkg-config tzdata
  libboost1.81-dev libboost-url1.81-dev libssl-dev nlohmann-json3-dev libsqlite3-dev catch2
  libtomlplusplus-dev libhowardhinnant-date-dev libcli11-dev libspdlog-dev libfmt-dev
)
# The test suite also builds the libFuzzer targets, which need clang and its fuzzer runtime.
if [ "${1:-}" = "--tests" ]; then
  packages+=(clang-14 libclang-rt-14-dev)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "releasebot: installing ${missing[*]}" >&2
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "releasebot: run as root, or install: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
