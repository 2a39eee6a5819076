#!/bin/bash
# Checks the test services themselves: the Secret Service started by
# with-services.sh, the lock and unlock scripts, and the token server's
# responses and request records, using secret-tool and curl only.
#
# Usage: selftest.sh
# Prints one line per check and "N passed, N failed" last; exits 1 when a
# check failed and 99 when the services could not be started.

set -u

harness_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ "${1:-}" != --inner ]; then
	"$harness_dir/with-services.sh" "$harness_dir/selftest.sh" --inner
	status=$?
	[ "$status" = 0 ] || exit "$status"
	# Without keyring the bus variables must be gone and the server still up.
	FLOWCRED_TEST_NO_KEYRING=1 "$harness_dir/with-services.sh" bash -c '
		[ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ] || { echo "not ok - bus address left set without keyring"; exit 1; }
		[ -z "${FLOWCRED_TEST_KEYRING_PASSWORD:-}" ] || { echo "not ok - keyring password set without keyring"; exit 1; }
		curl -sS -f -o /dev/null --cacert "$FLOWCRED_TEST_CA" "$FLOWCRED_TEST_URL/_test/health" ||
			{ echo "not ok - token server without keyring"; exit 1; }
		echo "ok - services without keyring"'
	exit $?
fi

passed=0
failed=0
work=$FLOWCRED_TEST_DIR/selftest
mkdir -p "$work"

pass() {
	passed=$((passed + 1))
	echo "ok - $1"
}

fail() {
	failed=$((failed + 1))
	echo "not ok - $1"
}

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1: expected $(printf '%q' "$2"), got $(printf '%q' "$3")"
	fi
}

# json_get FILE PATH: prints the value at a JavaScript property path such
# as '.error' or '[0].form.username'; strings raw, other values as JSON.
json_get() {
	node -e '
		const data = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		let value = data;
		for (const key of process.argv[2].match(/[^.[\]]+/g) || []) {
			value = value === undefined || value === null ? undefined : value[key];
		}
		process.stdout.write(value === undefined ? "<undefined>" :
			typeof value === "string" ? value : JSON.stringify(value));
	' "$1" "$2"
}

# form_encode TEXT: application/x-www-form-urlencoded, with '+' for space.
form_encode() {
	node -e 'process.stdout.write(encodeURIComponent(process.argv[1]).replace(/%20/g, "+"))' "$1"
}

TOKEN_URL=$FLOWCRED_TEST_URL/auth/realms/test/protocol/openid-connect/token
SPECIAL_SECRET='s+e&c=r%e"t!: ✓ ü'
SPECIAL_USER='jöhn+&=%"!: doe'
SPECIAL_PASSWORD='pä ss+&=%"!:wörd'

# post NAME URL CURL-ARGS...: POSTs, keeping the body in $work/NAME.json
# and the headers in $work/NAME.headers; prints the HTTP status.
post() {
	local name=$1 url=$2
	shift 2
	curl -sS --cacert "$FLOWCRED_TEST_CA" -o "$work/$name.json" -D "$work/$name.headers" \
		-w '%{http_code}' "$@" "$url"
}

reset_server() {
	curl -sS -f -X POST --cacert "$FLOWCRED_TEST_CA" "$FLOWCRED_TEST_URL/_test/reset"
}

fetch_requests() {
	curl -sS -f --cacert "$FLOWCRED_TEST_CA" -o "$work/requests.json" "$FLOWCRED_TEST_URL/_test/requests"
}

test_keyring() {
	local value='v@l ü "quoted"'
	printf '%s' "$value" | secret-tool store --label="flowcred selftest" service flowcred-selftest
	check "secret-tool store and lookup" "$value" "$(secret-tool lookup service flowcred-selftest)"

	if "$harness_dir/lock-keyring.sh"; then pass "lock-keyring.sh"; else fail "lock-keyring.sh"; fi
	check "lookup in locked keyring finds nothing" "" "$(timeout 10 secret-tool lookup service flowcred-selftest 2>/dev/null)"

	if "$harness_dir/unlock-keyring.sh"; then pass "unlock-keyring.sh"; else fail "unlock-keyring.sh"; fi
	check "lookup after unlock" "$value" "$(secret-tool lookup service flowcred-selftest)"
}

test_password_grant() {
	local status
	reset_server
	status=$(post ifsapp "$TOKEN_URL" -d grant_type=password -d client_id=NC_FlowPassCred \
		-d client_secret=flow-secret-1 -d username=IFSAPP --data-urlencode 'password=Passw0rd!' \
		--data-urlencode 'scope=openid microprofile-jwt')
	check "IFSAPP password grant status" 200 "$status"
	check "IFSAPP token_type" Bearer "$(json_get "$work/ifsapp.json" .token_type)"
	check "IFSAPP expires_in" 180 "$(json_get "$work/ifsapp.json" .expires_in)"
	check "IFSAPP scope" "openid microprofile-jwt" "$(json_get "$work/ifsapp.json" .scope)"
	check "IFSAPP access_token has three parts" 3 \
		"$(json_get "$work/ifsapp.json" .access_token | tr '.' '\n' | grep -c .)"
	check "IFSAPP id_token issued for openid" true \
		"$([ "$(json_get "$work/ifsapp.json" .id_token)" != "<undefined>" ] && echo true || echo false)"
	check "success answer has Cache-Control no-store" 1 \
		"$(grep -ci '^cache-control: no-store' "$work/ifsapp.headers")"
}

test_special_characters() {
	local status basic
	reset_server
	basic=$(printf '%s:%s' "$(form_encode NC_Special)" "$(form_encode "$SPECIAL_SECRET")" | base64 -w0)
	status=$(post special-basic "$TOKEN_URL" -H "Authorization: Basic $basic" -d grant_type=password \
		--data-urlencode "username=$SPECIAL_USER" --data-urlencode "password=$SPECIAL_PASSWORD")
	check "special characters, Basic auth: status" 200 "$status"

	status=$(post special-post "$TOKEN_URL" -d grant_type=password -d client_id=NC_Special \
		--data-urlencode "client_secret=$SPECIAL_SECRET" \
		--data-urlencode "username=$SPECIAL_USER" --data-urlencode "password=$SPECIAL_PASSWORD")
	check "special characters, body auth: status" 200 "$status"

	fetch_requests
	check "two requests recorded" 2 "$(json_get "$work/requests.json" .length)"
	local index method
	for index in 0 1; do
		method=$([ "$index" = 0 ] && echo basic || echo post)
		check "$method: client_auth_method" "$method" "$(json_get "$work/requests.json" "[$index].client_auth_method")"
		check "$method: client_id" NC_Special "$(json_get "$work/requests.json" "[$index].client_id")"
		check "$method: client_secret byte-exact" "$SPECIAL_SECRET" "$(json_get "$work/requests.json" "[$index].client_secret")"
		check "$method: username byte-exact" "$SPECIAL_USER" "$(json_get "$work/requests.json" "[$index].form.username")"
		check "$method: password byte-exact" "$SPECIAL_PASSWORD" "$(json_get "$work/requests.json" "[$index].form.password")"
		check "$method: content type" application/x-www-form-urlencoded \
			"$(json_get "$work/requests.json" "[$index].content_type")"
	done
}

# expect_error NAME HTTP ERROR DESCRIPTION CURL-ARGS...
expect_error() {
	local name=$1 http=$2 error=$3 description=$4 status
	shift 4
	status=$(post "$name" "$TOKEN_URL" "$@")
	check "$name: status" "$http" "$status"
	check "$name: error" "$error" "$(json_get "$work/$name.json" .error)"
	check "$name: error_description" "$description" "$(json_get "$work/$name.json" .error_description)"
}

test_error_answers() {
	local status
	expect_error wrong-password 401 invalid_grant "Invalid user credentials" \
		-d grant_type=password -d client_id=NC_FlowPassCred -d client_secret=flow-secret-1 \
		-d username=IFSAPP -d password=wrong
	expect_error missing-username 401 invalid_request "Missing parameter: username" \
		-d grant_type=password -d client_id=NC_FlowPassCred -d client_secret=flow-secret-1
	expect_error wrong-client-secret 401 unauthorized_client "Invalid client or Invalid client credentials" \
		-d grant_type=password -d client_id=NC_FlowPassCred -d client_secret=wrong \
		-d username=IFSAPP -d password=x
	expect_error disabled-user 400 invalid_grant "Account disabled" \
		-d grant_type=password -d client_id=NC_FlowPassCred -d client_secret=flow-secret-1 \
		-d username=DISABLED_USER --data-urlencode 'password=Passw0rd!'
	status=$(post raw-percent "$TOKEN_URL" --data-binary 'grant_type=password&client_id=NC_FlowPassCred&x=%zz')
	check "raw % in body: status" 500 "$status"
}

test_refresh_and_logout() {
	local first second status
	post refresh-login "$TOKEN_URL" -d grant_type=password -d client_id=NC_FlowPassCred \
		-d client_secret=flow-secret-1 -d username=IFSAPP --data-urlencode 'password=Passw0rd!' >/dev/null
	first=$(json_get "$work/refresh-login.json" .refresh_token)
	status=$(post refresh-1 "$TOKEN_URL" -d grant_type=refresh_token -d client_id=NC_FlowPassCred \
		-d client_secret=flow-secret-1 --data-urlencode "refresh_token=$first")
	check "refresh: status" 200 "$status"
	second=$(json_get "$work/refresh-1.json" .refresh_token)
	check "refresh rotates the token" true "$([ "$first" != "$second" ] && echo true || echo false)"
	expect_error refresh-reuse 400 invalid_grant "Maximum allowed refresh token reuse exceeded" \
		-d grant_type=refresh_token -d client_id=NC_FlowPassCred -d client_secret=flow-secret-1 \
		--data-urlencode "refresh_token=$first"

	status=$(post logout "${TOKEN_URL%/token}/logout" -d client_id=NC_FlowPassCred \
		-d client_secret=flow-secret-1 --data-urlencode "refresh_token=$second")
	check "logout: status" 204 "$status"
}

test_canned_and_tls() {
	local status
	status=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT --cacert "$FLOWCRED_TEST_CA" \
		--data-binary '{"canned":{"status":503,"headers":{"Content-Type":"text/html"},"body":"<h1>down</h1>"}}' \
		"$FLOWCRED_TEST_URL/_test/realms/down")
	check "PUT canned realm" 204 "$status"
	status=$(post canned "$FLOWCRED_TEST_URL/realms/down/protocol/openid-connect/token" -d grant_type=password)
	check "canned realm: status" 503 "$status"
	check "canned realm: body" "<h1>down</h1>" "$(cat "$work/canned.json")"

	if curl -sS -o /dev/null --cacert "$FLOWCRED_TEST_CERTS/other-ca.pem" "$FLOWCRED_TEST_URL/_test/health" 2>/dev/null; then
		fail "unrelated CA is rejected"
	else
		pass "unrelated CA is rejected"
	fi
}

test_keyring
test_password_grant
test_special_characters
test_error_answers
test_refresh_and_logout
test_canned_and_tls

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
