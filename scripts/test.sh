#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, then unit and integration tests through
# ctest. Integration tests start their own PostgreSQL clusters and in-process dev broker on
# free ports and clean them up, so two run side by side (one per core; CTEST_PARALLEL_LEVEL
# or -j in the arguments changes that). Usage: scripts/test.sh [extra ctest arguments]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="${PGTRAIL_BUILD_DIR:-$repo/build}"

"$repo/scripts/install-deps.sh"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2
cd "$build"
ctest --output-on-failure --parallel "${CTEST_PARALLEL_LEVEL:-2}" "$@"
