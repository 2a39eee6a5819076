#!/bin/sh
# Installs the dependencies, builds flowcred and runs its whole test
# suite against the real components the tests start themselves.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}

"$top/scripts/install-deps.sh"
BUILD_DIR=$build "$top/scripts/build.sh"
cd "$build"
status=0
make -j"$(nproc)" check || status=$?
"$top/scripts/summarize-checks.sh" "$build" || status=1
exit "$status"
