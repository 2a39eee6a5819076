#!/bin/sh
# The demo's steps, run by tests/harness/with-services.sh inside a
# private D-Bus session with an unlocked keyring and the local token
# endpoint (FLOWCRED_TEST_URL, FLOWCRED_TEST_CA).
set -eu

build=$FLOWCRED_BUILD
dir=$FLOWCRED_TEST_DIR
config=$dir/flowcred.conf

# The client secret lives in its own file, readable by its owner only.
umask 077
printf '%s\n' 'flow-secret-1' >"$dir/ifs-demo.secret"
cat >"$config" <<CONF
[ifs-demo]
token_url = $FLOWCRED_TEST_URL/auth/realms/test/protocol/openid-connect/token
client_id = NC_FlowPassCred
client_secret_file = $dir/ifs-demo.secret
scope = openid microprofile-jwt
ca_file = $FLOWCRED_TEST_CA
CONF

echo "1. The admin stores the machine workflow's IFS password in the keyring:"
echo "   flowcred store ifs-demo flowbot --ifs-user IFSAPP --password-stdin"
printf '%s\n' 'Passw0rd!' |
	"$build/flowcred" --config "$config" store ifs-demo flowbot \
		--ifs-user IFSAPP --password-stdin
"$build/flowcred" --config "$config" lookup ifs-demo flowbot | sed 's/^/   /'

echo "2. The Flow server loads libflowcred.so.1 and asks for a token:"
"$build/tests/host-dlopen" --plugin "$build/.libs/libflowcred.so.1" \
	--config "$config" --connector ifs-demo --machine-user flowbot
