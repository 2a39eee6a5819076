#!/bin/bash
# Locks the default (login) collection of the Secret Service on the session
# bus, through the Service.Lock method. `secret-tool lock` from
# libsecret-tools 0.20.5 is not used: given an object path it hangs, and
# given a collection name it aborts with a double free.
#
# Usage: lock-keyring.sh   (inside with-services.sh, which provides the bus)
# Exit status: 0 when the collection is locked afterwards, 1 otherwise.

set -u
. "$(dirname "${BASH_SOURCE[0]}")/keyring-common.sh"

if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
	echo "lock-keyring.sh: DBUS_SESSION_BUS_ADDRESS is not set: run inside with-services.sh" >&2
	exit 1
fi

collection=$(default_collection) || {
	echo "lock-keyring.sh: cannot read the default collection alias" >&2
	exit 1
}
secrets_call /org/freedesktop/secrets org.freedesktop.Secret.Service.Lock "['$collection']" >/dev/null || {
	echo "lock-keyring.sh: Lock of $collection failed" >&2
	exit 1
}
if [ "$(collection_locked "$collection")" != true ]; then
	echo "lock-keyring.sh: $collection is still unlocked after Lock" >&2
	exit 1
fi
