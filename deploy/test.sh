#!/usr/bin/env bash
# Command 2: install what is missing, build, and run the whole test suite — once in a debug
# build and once under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/setup.sh
for preset in ${RELEASEBOT_TEST_PRESETS:-debug asan}; do
  echo "== $preset build" >&2
  ./deploy/build.sh "$preset"
  ctest --preset "$preset"
done
