#!/bin/sh
# Configures and builds flowcred in BUILD_DIR (default: build/) with
# warnings as errors. Extra arguments go to configure.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}

if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
	(cd "$top" && autoreconf -fi >/dev/null)
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$#" -gt 0 ]; then
	"$top/configure" --enable-werror "$@" >/dev/null
fi
make -j"$(nproc)" >/dev/null
