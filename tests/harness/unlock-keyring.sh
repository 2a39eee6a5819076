#!/bin/bash
# Unlocks the login collection again without a prompt. gnome-keyring 42 has
# no such method on the bus (Service.Unlock needs a prompter, which needs a
# display), and a second `--unlock` against a running daemon leaves it
# locked, so this starts a new daemon with `--replace --unlock` and the
# keyring password. The old daemon exits on its own; the new one's process
# id is appended to $FLOWCRED_TEST_KEYRING_PID_FILE so that with-services.sh
# stops it at the end.
#
# Usage: unlock-keyring.sh   (inside with-services.sh)
# Exit status: 0 when the collection is unlocked afterwards, 1 otherwise.

set -u
. "$(dirname "${BASH_SOURCE[0]}")/keyring-common.sh"

fail() {
	echo "unlock-keyring.sh: $*" >&2
	exit 1
}

for name in DBUS_SESSION_BUS_ADDRESS FLOWCRED_TEST_KEYRING_PASSWORD FLOWCRED_TEST_KEYRING_PID_FILE FLOWCRED_TEST_DIR; do
	[ -n "${!name:-}" ] || fail "$name is not set: run inside with-services.sh with the keyring enabled"
done

printf '%s' "$FLOWCRED_TEST_KEYRING_PASSWORD" |
	gnome-keyring-daemon --replace --unlock --components=secrets --foreground \
		>>"$FLOWCRED_TEST_DIR/keyring.log" 2>&1 &
pid=$!
echo "$pid" >>"$FLOWCRED_TEST_KEYRING_PID_FILE"

# The replacement is ready once it, and no longer the old daemon, owns the name.
owner_pid() {
	gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
		--method org.freedesktop.DBus.GetConnectionUnixProcessID org.freedesktop.secrets 2>/dev/null |
		sed -n 's/^(uint32 \([0-9]*\),)$/\1/p'
}
for ((i = 0; i < SECRETS_TIMEOUT_S * 50; i++)); do
	[ "$(owner_pid)" = "$pid" ] && break
	kill -0 "$pid" 2>/dev/null || fail "the replacement gnome-keyring-daemon exited (see $FLOWCRED_TEST_DIR/keyring.log)"
	sleep 0.02
done
[ "$(owner_pid)" = "$pid" ] || fail "the replacement gnome-keyring-daemon did not own org.freedesktop.secrets within ${SECRETS_TIMEOUT_S} s"

collection=$(default_collection) || fail "cannot read the default collection alias"
[ "$(collection_locked "$collection")" = false ] || fail "$collection is still locked"
