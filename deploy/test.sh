#!/usr/bin/env bash
# Command 2: install what is missing, build, and run the whole test suite — once in a debug
# build, once under AddressSanitizer + UndefinedBehaviorSanitizer — then run each libFuzzer
# target for a short bounded time (clang).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/setup.sh --tests
for preset in ${RELEASEBOT_TEST_PRESETS:-debug asan fuzz}; do
  echo "== $preset build" >&2
  ./deploy/build.sh "$preset"
  ctest --preset "$preset"
done
