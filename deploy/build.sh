#!/usr/bin/env bash
# Configures and builds one CMake preset (debug, release, asan or fuzz) with two jobs; further
# arguments name the targets to build (default: the preset's own).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
shift || true
cmake --preset "$preset" >/dev/null
if [ $# -gt 0 ]; then
  cmake --build --preset "$preset" --target "$@"
else
  cmake --build --preset "$preset"
fi
