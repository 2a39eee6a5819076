#!/bin/sh
# Tests the headless keyring of contrib/systemd without a running systemd:
# - systemd-analyze verifies flowcred-keyring.service as a user unit;
# - flowcred-keyring-start runs by hand inside a private dbus-run-session,
#   with CREDENTIALS_DIRECTORY pointing at a temporary folder. It must
#   start gnome-keyring-daemon with an unlocked login collection that
#   secret-tool can store into and look up from. The password must be in
#   no argument or environment, a second start must unlock the same
#   collection, and --check must fail with a wrong password.
#
# Usage: sh contrib/systemd/test-keyring.sh
# Needs dbus-run-session (dbus), gnome-keyring-daemon (gnome-keyring),
# secret-tool (libsecret-tools) and gdbus (libglib2.0-bin). Prints one
# line per check and a closing "N passed, N failed" line.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
wrapper=$here/flowcred-keyring-start
unit=$here/flowcred-keyring.service

# Seconds any single step may take before it counts as hung.
STEP_TIMEOUT=20

if [ "${1:-}" != --inner ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT INT TERM
	: >"$tmp/results"
	export FLOWCRED_KEYRING_TEST_DIR=$tmp
fi
tmp=$FLOWCRED_KEYRING_TEST_DIR
results=$tmp/results

pass() {
	echo "ok - $1"
	echo ok >>"$results"
}

fail() {
	echo "FAIL - $1"
	echo fail >>"$results"
}

skip() {
	echo "skip - $1"
	echo skip >>"$results"
}

# ---- Inside the private session bus ----

secrets_owner_pid() {
	gdbus call --session --timeout 5 --dest org.freedesktop.DBus \
		--object-path /org/freedesktop/DBus \
		--method org.freedesktop.DBus.GetConnectionUnixProcessID \
		org.freedesktop.secrets 2>/dev/null |
		sed -n 's/^(uint32 \([0-9]*\),)$/\1/p'
}

# Starts the wrapper in the background with the credential file $1; the
# wrapper's process id goes to $tmp/wrapper.pid.
start_wrapper() {
	cp "$1" "$tmp/creds/flowcred-keyring-password"
	chmod 0400 "$tmp/creds/flowcred-keyring-password"
	CREDENTIALS_DIRECTORY=$tmp/creds sh "$wrapper" >>"$tmp/keyring.log" 2>&1 &
	echo $! >"$tmp/wrapper.pid"
	echo $! >>"$tmp/started.pids"
}

# Stops the daemon that owns org.freedesktop.secrets and the wrapper, and
# waits until the name is gone, so the next start owns it.
stop_daemon() {
	owner=$(secrets_owner_pid)
	[ -n "$owner" ] && kill "$owner" 2>/dev/null
	kill "$(cat "$tmp/wrapper.pid")" 2>/dev/null || true
	tries=$((STEP_TIMEOUT * 10))
	while [ -n "$(secrets_owner_pid)" ] && [ "$tries" -gt 0 ]; do
		tries=$((tries - 1))
		sleep 0.1
	done
}

# Runs the wrapper's --check and records the daemon's process id for the
# final cleanup.
check_unlocked() {
	check_rc=0
	FLOWCRED_KEYRING_TIMEOUT=$STEP_TIMEOUT timeout $((STEP_TIMEOUT + 5)) \
		sh "$wrapper" --check >"$tmp/check.log" 2>&1 || check_rc=$?
	secrets_owner_pid >>"$tmp/started.pids"
	return "$check_rc"
}

run_inner() {
	mkdir -p "$tmp/home" "$tmp/data" "$tmp/config" "$tmp/cache" \
		"$tmp/runtime" "$tmp/creds"
	chmod 0700 "$tmp/runtime" "$tmp/creds"
	export HOME=$tmp/home XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config
	export XDG_CACHE_HOME=$tmp/cache XDG_RUNTIME_DIR=$tmp/runtime
	unset DISPLAY WAYLAND_DISPLAY

	password=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	# As "echo" writes it, with a newline the wrapper removes.
	printf '%s\n' "$password" >"$tmp/password-newline"
	printf '%s' "$password" >"$tmp/password-plain"
	printf '%s' "wrong-$password" >"$tmp/password-wrong"
	: >"$tmp/password-empty"
	value="flowcred keyring test value"

	rc=0
	env -u CREDENTIALS_DIRECTORY sh "$wrapper" >"$tmp/err.log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] && grep -q "CREDENTIALS_DIRECTORY is not set" "$tmp/err.log"; then
		pass "wrapper without CREDENTIALS_DIRECTORY exits with $rc"
	else
		fail "wrapper without CREDENTIALS_DIRECTORY: exit status $rc, output: $(cat "$tmp/err.log")"
	fi

	cp "$tmp/password-empty" "$tmp/creds/flowcred-keyring-password"
	rc=0
	CREDENTIALS_DIRECTORY=$tmp/creds sh "$wrapper" >"$tmp/err.log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] && grep -q "is empty" "$tmp/err.log"; then
		pass "wrapper with an empty credential exits with $rc"
	else
		fail "wrapper with an empty credential: exit status $rc, output: $(cat "$tmp/err.log")"
	fi
	rm -f "$tmp/creds/flowcred-keyring-password"

	start_wrapper "$tmp/password-newline"
	if check_unlocked; then
		pass "first start creates an unlocked login collection"
	else
		fail "first start: --check failed: $(cat "$tmp/check.log" "$tmp/keyring.log")"
	fi

	if printf '%s' "$value" | timeout "$STEP_TIMEOUT" secret-tool store \
		--label="flowcred keyring test" flowcred-test item1 2>"$tmp/err.log"; then
		pass "secret-tool store succeeds"
	else
		fail "secret-tool store failed: $(cat "$tmp/err.log")"
	fi
	found=$(timeout "$STEP_TIMEOUT" secret-tool lookup flowcred-test item1 2>"$tmp/err.log" || true)
	if [ "$found" = "$value" ]; then
		pass "secret-tool lookup returns the stored value"
	else
		fail "secret-tool lookup returned '$found': $(cat "$tmp/err.log")"
	fi

	owner=$(secrets_owner_pid)
	leaked=""
	for pid in "$owner" "$(cat "$tmp/wrapper.pid")"; do
		[ -n "$pid" ] && [ -d "/proc/$pid" ] || continue
		for part in cmdline environ; do
			if grep -a -q -F "$password" "/proc/$pid/$part" 2>/dev/null; then
				leaked="$leaked /proc/$pid/$part"
			fi
		done
	done
	if [ -n "$owner" ] && [ -z "$leaked" ]; then
		pass "password is in no argument or environment of the daemon and wrapper"
	else
		fail "password found in:${leaked:- (no daemon owns org.freedesktop.secrets)}"
	fi

	stop_daemon
	start_wrapper "$tmp/password-plain"
	if check_unlocked; then
		pass "second start unlocks the existing collection"
	else
		fail "second start: --check failed: $(cat "$tmp/check.log")"
	fi
	found=$(timeout "$STEP_TIMEOUT" secret-tool lookup flowcred-test item1 2>"$tmp/err.log" || true)
	if [ "$found" = "$value" ]; then
		pass "value stored before the restart is found"
	else
		fail "after the restart secret-tool lookup returned '$found': $(cat "$tmp/err.log")"
	fi

	stop_daemon
	start_wrapper "$tmp/password-wrong"
	if check_unlocked; then
		fail "--check passed although the credential holds a wrong password"
	elif grep -q "still locked" "$tmp/check.log"; then
		pass "--check fails on a wrong password"
	else
		fail "--check failed on a wrong password, but not as locked: $(cat "$tmp/check.log")"
	fi
	stop_daemon
}

if [ "${1:-}" = --inner ]; then
	run_inner
	exit 0
fi

# ---- Outside: the unit file, then the wrapper on a private bus ----

if command -v systemd-analyze >/dev/null 2>&1; then
	# verify checks that ExecStart= exists, so the copy points at this
	# folder's wrapper; --man=no because the man page may not be installed.
	mkdir -p "$tmp/units" "$tmp/verify-runtime"
	chmod 0700 "$tmp/verify-runtime"
	sed "s#/usr/libexec/flowcred/flowcred-keyring-start#$wrapper#" "$unit" \
		>"$tmp/units/flowcred-keyring.service"
	if XDG_RUNTIME_DIR=$tmp/verify-runtime systemd-analyze --user --man=no \
		verify "$tmp/units/flowcred-keyring.service" >"$tmp/verify.log" 2>&1 &&
		[ ! -s "$tmp/verify.log" ]; then
		pass "systemd-analyze verify accepts flowcred-keyring.service"
	else
		sed 's/^/    /' "$tmp/verify.log"
		fail "systemd-analyze verify rejects flowcred-keyring.service"
	fi
else
	skip "systemd-analyze not found; install systemd to verify the unit"
fi

missing=""
for tool in dbus-run-session gnome-keyring-daemon secret-tool gdbus; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	fail "missing tools:$missing; install dbus, gnome-keyring, libsecret-tools and libglib2.0-bin"
else
	rc=0
	timeout 300 dbus-run-session -- sh "$0" --inner || rc=$?
	[ "$rc" -eq 0 ] || fail "the private session exited with status $rc"
	# gnome-keyring-daemon does not always exit with its bus, and a failed
	# step may have skipped stop_daemon.
	for pid in $(cat "$tmp/started.pids" 2>/dev/null || true); do
		if grep -a -q -e gnome-keyring-daemon -e flowcred-keyring-start \
			"/proc/$pid/cmdline" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
		fi
	done
fi

passed=$(grep -c '^ok$' "$results" || true)
failed=$(grep -c '^fail$' "$results" || true)
skipped=$(grep -c '^skip$' "$results" || true)
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
