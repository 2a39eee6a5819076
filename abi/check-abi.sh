#!/bin/sh
# Compares the ABI of a built libflowcred.so.1 with the committed baseline
# abi/libflowcred.abi and fails on any difference that abidiff reports,
# added symbols excepted.
#
# Usage: abi/check-abi.sh [--update] BUILD_DIR [HEADERS_DIR]
#
# BUILD_DIR contains .libs/libflowcred.so.1 from a build with debug
# information (-g, which autoconf's default CFLAGS include). HEADERS_DIR
# contains the public header flowcred.h (default: include/ beside this
# folder). --update writes the baseline from BUILD_DIR instead of
# comparing; see abi/README.md for when that is allowed.
#
# Environment: ABI_BASELINE overrides the baseline file.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
update=0
if [ "${1:-}" = "--update" ]; then
	update=1
	shift
fi
if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
	echo "usage: $0 [--update] BUILD_DIR [HEADERS_DIR]" >&2
	exit 2
fi
build=$1
headers=${2:-$top/include}
baseline=${ABI_BASELINE:-$top/abi/libflowcred.abi}
lib=$build/.libs/libflowcred.so.1
soname_expected=libflowcred.so.1

for tool in abidw abidiff readelf; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "check-abi: $tool not found; install abigail-tools and binutils" >&2
		exit 2
	fi
done
if [ ! -f "$lib" ]; then
	echo "check-abi: $lib not found; build the library first" >&2
	exit 2
fi
if [ ! -f "$headers/flowcred.h" ]; then
	echo "check-abi: $headers/flowcred.h not found" >&2
	exit 2
fi

# Without DWARF abidw records symbols but no types, and a changed
# parameter or enum would pass unnoticed.
if ! readelf -S -W "$lib" | grep -q '\.debug_info'; then
	echo "check-abi: $lib has no debug information; build with CFLAGS containing -g" >&2
	exit 1
fi

soname=$(readelf -d -W "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
if [ "$soname" != "$soname_expected" ]; then
	echo "check-abi: FAIL: soname is '$soname', expected '$soname_expected'" >&2
	echo "check-abi: check FLOWCRED_LT_VERSION in configure.ac (CURRENT - AGE must stay 1)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# --headers-dir with --drop-private-types keeps struct flowcred_ctx
# declaration-only, as the public header declares it. Without them the
# context's private layout becomes part of the baseline, and any field
# added inside the library fails the check although no caller can see it.
# --exported-interfaces-only leaves out the types that only internal
# functions use (libcurl's, GLib's), so the baseline shows the public ABI.
abidw --no-corpus-path --no-comp-dir-path --no-show-locs \
	--headers-dir "$headers" --drop-private-types \
	--exported-interfaces-only \
	--out-file "$tmp/current.abi" "$lib"

if [ "$update" = 1 ]; then
	cp "$tmp/current.abi" "$baseline"
	echo "check-abi: wrote $baseline from $lib"
	exit 0
fi

if [ ! -f "$baseline" ]; then
	echo "check-abi: baseline $baseline not found" >&2
	exit 2
fi

rc=0
abidiff --no-added-syms "$baseline" "$tmp/current.abi" >"$tmp/report" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
	echo "check-abi: OK: $lib matches $baseline"
	exit 0
fi

cat "$tmp/report"
# abidiff's exit status is a bit mask: 1 tool error, 2 usage error,
# 4 ABI change, 8 incompatible ABI change. Each of them fails here.
reasons=""
[ $((rc & 1)) -ne 0 ] && reasons="$reasons, abidiff failed"
[ $((rc & 2)) -ne 0 ] && reasons="$reasons, abidiff usage error"
[ $((rc & 4)) -ne 0 ] && reasons="$reasons, ABI changed"
[ $((rc & 8)) -ne 0 ] && reasons="$reasons, incompatible ABI change"
echo "check-abi: FAIL: abidiff exit status $rc (${reasons#, }): $lib differs from $baseline" >&2
echo "check-abi: see abi/README.md before changing the baseline" >&2
exit 1
