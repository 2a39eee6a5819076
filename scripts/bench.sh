#!/bin/sh
# Installs what the benchmarks need, builds flowcred with -O2 in BUILD_DIR
# (default: build-bench/, apart from the build/ that CI uses) and runs
# "make bench", which writes BUILD_DIR/bench-results.md. Run as root on
# Debian 12; BENCHMARKS.md describes the method and records one run.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build-bench}

"$top/scripts/install-deps.sh"

# The tools flowcred is compared with (bench/run.sh, part 4).
packages="hyperfine oidc-agent python3 python3-keyring
	python3-requests-oauthlib python3-secretstorage"
missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "bench: missing packages:$missing; run as root" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi

# -O2 is autoconf's default; it is spelled out so that a CFLAGS in the
# environment cannot turn the benchmark into a debug build.
BUILD_DIR=$build CFLAGS="-g -O2" "$top/scripts/build.sh"
make -C "$build" bench
