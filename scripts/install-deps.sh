#!/bin/sh
# Installs what flowcred needs to build and test on Debian 12: the
# libraries, the real components the tests start (D-Bus, gnome-keyring,
# pam_wrapper, Node.js for the token endpoint) and the token endpoint's
# npm packages from the committed lock file. Run as root.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)

packages="build-essential autoconf automake libtool pkg-config
	libsecret-1-dev libsecret-tools gnome-keyring dbus libglib2.0-bin
	libjson-c-dev libcurl4-openssl-dev check
	libpam0g-dev libpam-wrapper libpamtest0-dev pamtester
	abigail-tools libkeyutils-dev keyutils openssl curl ca-certificates
	valgrind clang libclang-rt-14-dev"

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: missing packages:$missing; run as root" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi

if [ ! -d "$top/tests/server/node_modules" ]; then
	(cd "$top/tests/server" && npm ci --no-audit --no-fund --loglevel=error)
fi
