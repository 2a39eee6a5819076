#!/bin/bash
# Builds the Debian packages from a copy of this tree, checks them with
# lintian, installs them, and runs a demo against the installed files. In
# the demo /usr/bin/flowcred stores a password in the keyring and prints a
# token from the test token server, through the libflowcred.so.1 in the
# system library path. The packages are purged again at the end, also on
# failure.
#
# Usage: scripts/deb-test.sh   (as root; installs what it needs with apt-get)
#
# The tree is copied with the files git tracks plus untracked files that
# .gitignore does not exclude, so uncommitted changes are tested too. The
# build runs in a temporary folder and leaves the tree untouched. Prints one
# line per check, the time of each phase, and a closing
# "N passed, N failed" line.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
packages="libflowcred1 libflowcred-dev libpam-flowcred flowcred"

passed=0
failed=0

pass() {
	echo "ok - $1"
	passed=$((passed + 1))
}

fail() {
	echo "FAIL - $1"
	failed=$((failed + 1))
}

# ---- The demo, run inside tests/harness/with-services.sh ----

# Checks the installed files and obtains a token with them. Prints its own
# ok/FAIL lines and returns non-zero when a check failed.
run_demo() {
	local config=$FLOWCRED_TEST_DIR/flowcred.conf
	local url=$FLOWCRED_TEST_URL/auth/realms/test/protocol/openid-connect/token
	local multiarch lib token json rc=0

	unset LD_LIBRARY_PATH FLOWCRED_CONFIG
	multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
	(umask 077 && cat >"$config" <<EOF
[test]
token_url = $url
client_id = NC_FlowPassCred
client_secret = flow-secret-1
ca_file = $FLOWCRED_TEST_CA
EOF
	)

	lib=$(ldd /usr/libexec/flowcred/flowcred-admin |
		sed -n 's/^[[:space:]]*libflowcred\.so\.1 => \([^ ]*\) .*/\1/p')
	case $lib in
	/usr/lib/$multiarch/libflowcred.so.1 | /lib/$multiarch/libflowcred.so.1)
		pass "flowcred-admin loads $lib from the system library path"
		;;
	*)
		fail "flowcred-admin loads libflowcred.so.1 from '${lib:-nowhere}'"
		rc=1
		;;
	esac

	if printf '%s\n' 'Passw0rd!' | /usr/bin/flowcred --config "$config" \
		store test flowbot --ifs-user IFSAPP --password-stdin; then
		pass "/usr/bin/flowcred store saves the password in the keyring"
	else
		fail "/usr/bin/flowcred store failed"
		rc=1
	fi

	if /usr/bin/flowcred --config "$config" lookup test flowbot |
		grep -qx 'password stored'; then
		pass "/usr/bin/flowcred lookup finds the stored password"
	else
		fail "/usr/bin/flowcred lookup does not report a stored password"
		rc=1
	fi

	token=$(/usr/bin/flowcred --config "$config" token test flowbot) || true
	if [[ $token =~ ^[A-Za-z0-9._~+/=-]+$ ]]; then
		pass "/usr/bin/flowcred token prints a bearer token (${#token} bytes)"
	else
		fail "/usr/bin/flowcred token printed no bearer token"
		rc=1
	fi

	json=$(/usr/bin/flowcred --config "$config" token test flowbot --format=json) || true
	if [[ $json == *'"token_type":"Bearer"'* ]]; then
		pass "/usr/bin/flowcred token --format=json reports a Bearer token"
	else
		fail "/usr/bin/flowcred token --format=json printed no Bearer token"
		rc=1
	fi

	if /usr/bin/flowcred --config "$config" check test >/dev/null; then
		pass "/usr/bin/flowcred check accepts the connector"
	else
		fail "/usr/bin/flowcred check rejects the connector"
		rc=1
	fi
	echo "demo: $passed passed, $failed failed"
	return "$rc"
}

if [ "${1:-}" = --demo ]; then
	run_demo
	exit
fi

# ---- Build, lint, install, demo, purge ----

if [ "$(id -u)" != 0 ]; then
	echo "deb-test: run as root: it installs and purges packages" >&2
	exit 2
fi
# Prints the dpkg state of package $1: installed, config-files,
# not-installed, and so on.
package_state() {
	dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || echo not-installed
}

for p in $packages; do
	if [ "$(package_state "$p")" != not-installed ]; then
		echo "deb-test: $p is already installed; remove it first, since this test purges it" >&2
		exit 2
	fi
done

start=$(date +%s)
phase_start=$start

# Prints the seconds since the previous call, for the phase named in $1.
phase_done() {
	local now
	now=$(date +%s)
	echo "# $1 took $((now - phase_start)) s"
	phase_start=$now
}

export DEBIAN_FRONTEND=noninteractive
"$top/scripts/install-deps.sh"
tools=""
for p in debhelper dpkg-dev fakeroot lintian; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		tools="$tools $p"
done
if [ -n "$tools" ]; then
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $tools >/dev/null
fi

tmp=$(mktemp -d)
installed=0
cleanup() {
	if [ "$installed" = 1 ]; then
		# shellcheck disable=SC2086
		apt-get purge -y -qq $packages >/dev/null 2>&1 ||
			echo "deb-test: purging $packages failed; remove them by hand" >&2
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

src=$tmp/flowcred
mkdir -p "$src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' file; do
		if [ -e "$file" ]; then
			printf '%s\0' "$file"
		fi
	done | xargs -0 cp --parents -t "$src")
if ! (cd "$src" && dpkg-checkbuilddeps) >/dev/null 2>&1; then
	apt-get update -qq
	apt-get build-dep -y -qq --no-install-recommends "$src" >/dev/null
fi
phase_done "preparing"

if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
	pass "dpkg-buildpackage -us -uc -b builds the packages"
else
	tail -n 40 "$tmp/build.log"
	fail "dpkg-buildpackage failed (last lines above)"
	echo "$passed passed, $failed failed"
	exit 1
fi
phase_done "building"

for p in $packages; do
	if ls "$tmp/${p}_"*.deb >/dev/null 2>&1; then
		pass "$p is built"
	else
		fail "$p is missing from the build"
	fi
done

rc=0
lintian --fail-on error --pedantic "$tmp"/flowcred_*.changes >"$tmp/lintian.log" 2>&1 || rc=$?
grep -v '^running with root privileges' "$tmp/lintian.log" | sed 's/^/    /' || true
if [ "$rc" -eq 0 ]; then
	pass "lintian reports no errors"
else
	fail "lintian reports errors (exit status $rc)"
fi
phase_done "lintian"

debs=()
for p in $packages; do
	debs+=("$(ls "$tmp/${p}_"*.deb)")
done
installed=1
if apt-get install -y -qq --no-install-recommends "${debs[@]}" >"$tmp/install.log" 2>&1; then
	pass "apt-get installs the packages"
else
	cat "$tmp/install.log"
	fail "apt-get install failed"
fi
phase_done "installing"

demo_rc=0
"$top/tests/harness/with-services.sh" "$top/scripts/deb-test.sh" --demo >"$tmp/demo.log" 2>&1 ||
	demo_rc=$?
cat "$tmp/demo.log"
if [ "$demo_rc" -eq 0 ]; then
	pass "the demo passes against the installed packages"
else
	fail "the demo failed with exit status $demo_rc"
fi
phase_done "demo"

# shellcheck disable=SC2086
if apt-get purge -y -qq $packages >"$tmp/purge.log" 2>&1; then
	installed=0
	pass "apt-get purges the packages"
else
	cat "$tmp/purge.log"
	fail "apt-get purge failed"
fi
left=""
for p in $packages; do
	if [ "$(package_state "$p")" != not-installed ]; then
		left="$left $p"
	fi
done
if [ -z "$left" ] && [ ! -e /usr/bin/flowcred ]; then
	pass "no package and no /usr/bin/flowcred remain"
else
	fail "still installed:${left:- /usr/bin/flowcred}"
fi
phase_done "purging"

echo "# deb-test took $(($(date +%s) - start)) s in all"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
