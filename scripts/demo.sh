#!/bin/sh
# Runs flowcred's main job on embedded defaults: a private keyring and a
# local Keycloak-shaped token endpoint, both started and stopped here.
# The admin CLI stores a machine workflow's IFS password in the keyring,
# then a host program loads libflowcred.so.1 with dlopen() as the Flow
# server does and prints the bearer token it obtained.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}

"$top/scripts/install-deps.sh"
BUILD_DIR=$build "$top/scripts/build.sh"
make -C "$build" -s tests/host-dlopen >/dev/null
FLOWCRED_BUILD=$build exec "$top/tests/harness/with-services.sh" \
	"$top/scripts/demo-session.sh"
