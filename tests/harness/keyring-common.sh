# shellcheck shell=bash
# Helpers shared by lock-keyring.sh and unlock-keyring.sh, for the Secret
# Service on the session bus that with-services.sh started. Sourced, not run.

SECRETS_TIMEOUT_S=10

# secrets_call OBJECT METHOD ARGS...: one bounded gdbus call to the daemon.
secrets_call() {
	local object=$1 method=$2
	shift 2
	timeout "$SECRETS_TIMEOUT_S" gdbus call --session --dest org.freedesktop.secrets \
		--object-path "$object" --method "$method" "$@"
}

# Prints the object path of the collection behind the "default" alias,
# which gnome-keyring points at the login collection.
default_collection() {
	local reply path
	reply=$(secrets_call /org/freedesktop/secrets \
		org.freedesktop.Secret.Service.ReadAlias default) || return 1
	path=$(printf '%s\n' "$reply" | sed -n "s/^(objectpath '\([^']*\)',)\$/\1/p")
	if [ -z "$path" ] || [ "$path" = / ]; then
		path=/org/freedesktop/secrets/collection/login
	fi
	printf '%s\n' "$path"
}

# Prints true or false: the Locked property of collection $1.
collection_locked() {
	secrets_call "$1" org.freedesktop.DBus.Properties.Get \
		org.freedesktop.Secret.Collection Locked |
		sed -n 's/^(<\(true\|false\)>,)$/\1/p'
}
