#!/bin/bash
# Runs CMD with the services flowcred's tests need, all private to this run:
# a D-Bus session bus with gnome-keyring-daemon serving the Secret Service
# (skipped when FLOWCRED_TEST_NO_KEYRING=1), a test CA with certificates, and
# the Keycloak-shaped token server on 127.0.0.1. Usable as an automake
# LOG_COMPILER.
#
# Usage: with-services.sh CMD [ARGS...]
#
# CMD runs with these variables set:
#   FLOWCRED_TEST_DIR              private temporary directory, removed afterwards
#   FLOWCRED_TEST_CERTS            directory made by make-certs.sh
#   FLOWCRED_TEST_CA               $FLOWCRED_TEST_CERTS/ca.pem
#   FLOWCRED_TEST_PORT             port of the token server on 127.0.0.1
#   FLOWCRED_TEST_URL              https://127.0.0.1:$FLOWCRED_TEST_PORT
#   FLOWCRED_TEST_SERVER_PID       process id of the token server
#   FLOWCRED_TEST_SERVER_LOG       the token server's log (one line per request)
#   FLOWCRED_TEST_HARNESS_DIR      this directory (lock-keyring.sh, unlock-keyring.sh)
#   FLOWCRED_TEST_KEYRING_PASSWORD password of the login keyring (unset without keyring)
#   FLOWCRED_TEST_KEYRING_PID_FILE process ids of the keyring daemons to stop (unset without keyring)
# and a throwaway HOME, XDG_DATA_HOME, XDG_CONFIG_HOME, XDG_CACHE_HOME and
# XDG_RUNTIME_DIR. Without keyring, DBUS_SESSION_BUS_ADDRESS is unset so
# nothing reaches the caller's session bus. The private bus starts no
# service on demand. DISPLAY and the proxy variables are unset and no_proxy
# is '*', so no prompt window opens and no request goes through a proxy.
#
# Exit status: CMD's, or 99 when a service could not be started (automake's
# "hard error"). Server and keyring logs are copied to stderr when CMD fails,
# or always with FLOWCRED_TEST_VERBOSE=1.
#
# Other settings: FLOWCRED_TEST_FIXTURE (realm fixture for the server,
# default tests/server/fixture.json), NODE (node binary, default node),
# FLOWCRED_TEST_SERVER_DIR (the token server's folder with its
# node_modules, default tests/server; make distcheck points it at the
# source tree, since a release tarball carries no node_modules).

set -u

harness_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
server_dir=$(cd "${FLOWCRED_TEST_SERVER_DIR:-$harness_dir/../server}" && pwd)
self=$harness_dir/with-services.sh

STARTUP_TIMEOUT_S=10
STOP_TIMEOUT_S=5
HARD_ERROR=99

say() {
	echo "with-services.sh: $*" >&2
}

if [ $# -lt 1 ]; then
	say "usage: with-services.sh CMD [ARGS...]"
	exit 2
fi

keyring_enabled() {
	[ "${FLOWCRED_TEST_NO_KEYRING:-0}" != 1 ]
}

# is_alive PID [COMM]: true while PID runs (zombies count as gone) and,
# when COMM is given, is still that program, so a reused id is never hit.
is_alive() {
	local pid=$1 comm=${2:-} state
	[ -r "/proc/$pid/stat" ] || return 1
	state=$(sed -e 's/^.*) //' -e 's/ .*//' "/proc/$pid/stat" 2>/dev/null) || return 1
	[ "$state" != Z ] || return 1
	if [ -n "$comm" ]; then
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
	fi
	return 0
}

# stop_pid PID [COMM]: SIGTERM, then SIGKILL after STOP_TIMEOUT_S seconds.
stop_pid() {
	local pid=$1 comm=${2:-} i
	is_alive "$pid" "$comm" || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < STOP_TIMEOUT_S * 20; i++)); do
		is_alive "$pid" "$comm" || break
		sleep 0.05
	done
	if is_alive "$pid" "$comm"; then
		say "process $pid ($comm) ignored SIGTERM for ${STOP_TIMEOUT_S} s, sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null
	fi
	# Reap it when it is a child of this shell; others are not waitable.
	wait "$pid" 2>/dev/null
	return 0
}

# Removes /tmp/pam.? folders that pam_wrapper left behind: those whose
# owning process, named in their pid file, no longer runs. Folders of
# running processes (tests in parallel) stay.
remove_stale_pam_wrapper_dirs() {
	local dir pid
	for dir in /tmp/pam.?; do
		if [ ! -d "$dir" ] || [ -L "$dir" ] || [ ! -O "$dir" ]; then
			continue
		fi
		[ -f "$dir/pid" ] || continue
		pid=$(head -c 16 "$dir/pid" | tr -cd 0-9)
		[ -n "$pid" ] || continue
		is_alive "$pid" || rm -rf "$dir"
	done
}

# write_bus_config DIR: a session bus listening in DIR, with no service
# directories. Nothing is started on demand, so a call made before the
# keyring daemon is up, or after it stopped, fails at once instead of
# starting another daemon or a prompter that needs a display.
write_bus_config() {
	local dir
	dir=$(printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g')
	cat <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir=$dir</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
}

# Outer level, with keyring: create the private directory, then run this
# script again inside dbus-run-session. dbus-run-session neither forwards
# signals nor stops its bus when it is killed itself, so this level
# forwards a signal to the inner level and stops a bus daemon left behind.
outer_tmp=
session_pid=

# wait_gone PID SECONDS: waits until PID has ended, at most SECONDS.
wait_gone() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		is_alive "$1" || return 0
		sleep 0.05
	done
	return 1
}

finish_outer() {
	local bus_pid
	if [ -n "$session_pid" ]; then
		wait_gone "$session_pid" "$STOP_TIMEOUT_S" || kill -TERM "$session_pid" 2>/dev/null
		wait "$session_pid" 2>/dev/null
	fi
	bus_pid=$(cat "$outer_tmp/bus.pid" 2>/dev/null)
	[ -n "$bus_pid" ] && stop_pid "$bus_pid" dbus-daemon
	rm -rf "$outer_tmp"
	exit "$1"
}

outer_on_signal() {
	local inner_pid='' i
	trap '' TERM INT HUP
	# The inner level writes its id first thing; give it a moment if the
	# signal came earlier than that.
	for ((i = 0; i < 40; i++)); do
		inner_pid=$(cat "$outer_tmp/harness.pid" 2>/dev/null)
		[ -n "$inner_pid" ] && break
		is_alive "$session_pid" || break
		sleep 0.05
	done
	# The inner level stops CMD and the services; dbus-run-session then
	# stops its bus and exits.
	if [ -n "$inner_pid" ] && is_alive "$inner_pid"; then
		kill -TERM "$inner_pid" 2>/dev/null
		wait_gone "$inner_pid" $((STOP_TIMEOUT_S * 3 + 5))
	fi
	finish_outer "$1"
}

run_outer() {
	if ! command -v dbus-run-session >/dev/null; then
		say "dbus-run-session not found: install the dbus package, or set FLOWCRED_TEST_NO_KEYRING=1"
		exit "$HARD_ERROR"
	fi
	outer_tmp=$(mktemp -d "${TMPDIR:-/tmp}/flowcred-test.XXXXXX") || exit "$HARD_ERROR"
	chmod 700 "$outer_tmp"
	trap 'outer_on_signal 143' TERM
	trap 'outer_on_signal 130' INT
	trap 'outer_on_signal 129' HUP

	write_bus_config "$outer_tmp" >"$outer_tmp/bus.conf"
	FLOWCRED_HARNESS_INNER=1 FLOWCRED_HARNESS_TMP=$outer_tmp \
		dbus-run-session --config-file="$outer_tmp/bus.conf" \
		--dbus-daemon="$harness_dir/dbus-daemon-logged.sh" \
		-- /bin/bash "$self" "$@" <&0 &
	session_pid=$!
	wait "$session_pid"
	local status=$?
	session_pid=
	finish_outer "$status"
}

# Everything below runs at the inner level (or the only level without
# keyring), in a private directory; state is kept in globals for cleanup.
tmp=
server_pid=
cmd_pid=

# print_log TITLE FILE: copies a service log to stderr.
print_log() {
	[ -s "$2" ] || return 0
	echo "----- $1 ($2) -----" >&2
	tail -n 200 "$2" >&2
	echo "----- end of $1 -----" >&2
}

# Invalidates the tokens that tests left in the user's kernel keyring:
# their key descriptions name a configuration file under the test
# directory. Other keys of the user are left alone.
remove_test_kernel_keys() {
	local id description
	command -v keyctl >/dev/null 2>&1 || return 0
	for id in $(keyctl rlist @u 2>/dev/null); do
		description=$(keyctl rdescribe "$id" 2>/dev/null) || continue
		case $description in
		*";flowcred:"*"$tmp/"*) keyctl invalidate "$id" 2>/dev/null ;;
		esac
	done
}

cleanup() {
	local status=$? pid
	trap '' TERM INT HUP
	[ -n "$cmd_pid" ] && stop_pid "$cmd_pid"
	[ -n "$server_pid" ] && stop_pid "$server_pid"
	if [ -n "$tmp" ] && [ -f "$tmp/keyring.pid" ]; then
		while read -r pid; do
			[ -n "$pid" ] && stop_pid "$pid" gnome-keyring-d
		done <"$tmp/keyring.pid"
	fi
	remove_stale_pam_wrapper_dirs
	[ -n "$tmp" ] && remove_test_kernel_keys
	if [ -n "$tmp" ]; then
		if [ "$status" != 0 ] || [ "${FLOWCRED_TEST_VERBOSE:-0}" = 1 ]; then
			print_log "token server log" "$tmp/server.log"
			print_log "keyring daemon log" "$tmp/keyring.log"
			print_log "session bus log" "$tmp/dbus.log"
		fi
		rm -rf "$tmp"
	fi
	exit "$status"
}

on_signal() {
	trap '' TERM INT HUP
	say "received SIG$1, stopping"
	exit "$2"
}

setup_environment() {
	mkdir -p "$tmp/home" "$tmp/data" "$tmp/config" "$tmp/cache" "$tmp/runtime"
	chmod 700 "$tmp/runtime"
	export HOME=$tmp/home
	export XDG_DATA_HOME=$tmp/data
	export XDG_CONFIG_HOME=$tmp/config
	export XDG_CACHE_HOME=$tmp/cache
	export XDG_RUNTIME_DIR=$tmp/runtime
	# No prompt window may open, and no request may leave through a proxy.
	unset DISPLAY WAYLAND_DISPLAY
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
	export no_proxy='*' NO_PROXY='*'
	export FLOWCRED_TEST_DIR=$tmp
	export FLOWCRED_TEST_HARNESS_DIR=$harness_dir
}

secrets_has_owner() {
	[ "$(gdbus call --session --dest org.freedesktop.DBus \
		--object-path /org/freedesktop/DBus \
		--method org.freedesktop.DBus.NameHasOwner org.freedesktop.secrets 2>/dev/null)" = "(true,)" ]
}

start_keyring() {
	local password pid i tool
	for tool in gnome-keyring-daemon gdbus; do
		if ! command -v "$tool" >/dev/null; then
			say "$tool not found: install gnome-keyring and libglib2.0-bin, or set FLOWCRED_TEST_NO_KEYRING=1"
			exit "$HARD_ERROR"
		fi
	done
	# The bus daemon's id lets the outer level stop it if dbus-run-session dies.
	gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
		--method org.freedesktop.DBus.GetConnectionUnixProcessID org.freedesktop.DBus 2>/dev/null |
		sed -n 's/^(uint32 \([0-9]*\),)$/\1/p' >"$tmp/bus.pid"

	password=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	# With --unlock the daemon reads the password from stdin, without a
	# newline, and creates and unlocks the login keyring on its first start.
	printf '%s' "$password" |
		gnome-keyring-daemon --unlock --components=secrets --foreground \
			>>"$tmp/keyring.log" 2>&1 &
	pid=$!
	echo "$pid" >>"$tmp/keyring.pid"

	# --unlock returns before the daemon owns org.freedesktop.secrets, and a
	# client calling earlier would make D-Bus start a second daemon.
	for ((i = 0; i < STARTUP_TIMEOUT_S * 50; i++)); do
		secrets_has_owner && break
		if ! is_alive "$pid"; then
			say "gnome-keyring-daemon exited during startup"
			exit "$HARD_ERROR"
		fi
		sleep 0.02
	done
	if ! secrets_has_owner; then
		say "gnome-keyring-daemon did not own org.freedesktop.secrets within ${STARTUP_TIMEOUT_S} s"
		exit "$HARD_ERROR"
	fi
	export FLOWCRED_TEST_KEYRING_PASSWORD=$password
	export FLOWCRED_TEST_KEYRING_PID_FILE=$tmp/keyring.pid
}

start_server() {
	local node=${NODE:-node} fixture=${FLOWCRED_TEST_FIXTURE:-$server_dir/fixture.json} i port
	if ! command -v "$node" >/dev/null; then
		say "$node not found: install Node.js 18 or newer, or set NODE"
		exit "$HARD_ERROR"
	fi
	if ! "$harness_dir/make-certs.sh" "$tmp/certs" 2>"$tmp/make-certs.log"; then
		cat "$tmp/make-certs.log" >&2
		say "make-certs.sh failed"
		exit "$HARD_ERROR"
	fi
	export FLOWCRED_TEST_CERTS=$tmp/certs
	export FLOWCRED_TEST_CA=$tmp/certs/ca.pem

	# Started by absolute path and not from a subshell, so $! is node itself.
	"$node" "$server_dir/token-server.js" \
		--cert "$tmp/certs/server.pem" --key "$tmp/certs/server.key" \
		--port-file "$tmp/port" --fixture "$fixture" \
		</dev/null >>"$tmp/server.log" 2>&1 &
	server_pid=$!
	for ((i = 0; i < STARTUP_TIMEOUT_S * 50; i++)); do
		[ -s "$tmp/port" ] && break
		if ! is_alive "$server_pid"; then
			say "token server exited during startup"
			exit "$HARD_ERROR"
		fi
		sleep 0.02
	done
	port=$(tr -cd 0-9 <"$tmp/port" 2>/dev/null)
	if [ -z "$port" ]; then
		say "token server wrote no port file within ${STARTUP_TIMEOUT_S} s"
		exit "$HARD_ERROR"
	fi
	export FLOWCRED_TEST_PORT=$port
	export FLOWCRED_TEST_URL=https://127.0.0.1:$port
	export FLOWCRED_TEST_SERVER_PID=$server_pid
	export FLOWCRED_TEST_SERVER_LOG=$tmp/server.log
}

run_inner() {
	local status
	if [ -n "${FLOWCRED_HARNESS_TMP:-}" ]; then
		tmp=$FLOWCRED_HARNESS_TMP
	else
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/flowcred-test.XXXXXX") || exit "$HARD_ERROR"
		chmod 700 "$tmp"
	fi
	unset FLOWCRED_HARNESS_INNER FLOWCRED_HARNESS_TMP
	echo $$ >"$tmp/harness.pid"
	trap cleanup EXIT
	trap 'on_signal TERM 143' TERM
	trap 'on_signal INT 130' INT
	trap 'on_signal HUP 129' HUP

	setup_environment
	if keyring_enabled; then
		start_keyring
	else
		unset DBUS_SESSION_BUS_ADDRESS FLOWCRED_TEST_KEYRING_PASSWORD FLOWCRED_TEST_KEYRING_PID_FILE
	fi
	start_server

	# CMD runs in the background so that a signal reaches the trap at once
	# instead of after CMD ends. Bash starts background commands with SIGINT
	# and SIGQUIT ignored and stdin from /dev/null, so env restores both
	# signals and stdin is passed on explicitly.
	env --default-signal=INT,QUIT "$@" <&0 &
	cmd_pid=$!
	wait "$cmd_pid"
	status=$?
	cmd_pid=
	exit "$status"
}

if [ ! -d "$server_dir/node_modules/@node-oauth/oauth2-server" ]; then
	say "$server_dir/node_modules is missing: run npm ci in tests/server"
	exit "$HARD_ERROR"
fi
if keyring_enabled && [ -z "${FLOWCRED_HARNESS_INNER:-}" ]; then
	run_outer "$@"
else
	run_inner "$@"
fi
