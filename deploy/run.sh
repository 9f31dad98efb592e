#!/usr/bin/env bash
# Command 1: install what is missing, build, and run the bot. Without Slack/Teams credentials it
# serves the terminal console on ./releasebot.db with the shipped policy. Arguments go to
# `releasebot run` (e.g. --as bob, --db FILE, --config FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/setup.sh
./deploy/build.sh release releasebot >&2
exec ./build/release/bot/releasebot run "$@"
