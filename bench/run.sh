#!/bin/bash
# Runs flowcred's benchmarks against the private keyring and the local
# Keycloak-shaped token server of tests/harness/with-services.sh, and writes
# the results as Markdown. BENCHMARKS.md explains the method and records one
# run.
#
# Usage: bench/run.sh [--builddir DIR] [--output FILE] [--quick]
#
#   --builddir DIR  build directory with flowcred, .libs/libflowcred.so.1 and
#                   bench/bench-flowcred, bench/bench-memory (default: the
#                   current directory; "make bench" builds and passes it)
#   --output FILE   where the results go (default DIR/bench-results.md); they
#                   are printed on standard output as well
#   --quick         small counts, to check that every part runs; its figures
#                   are not worth reporting
#
# The comparisons in part 4 need the Debian packages hyperfine, oidc-agent,
# python3-keyring, python3-requests-oauthlib and python3-secretstorage. A
# row whose tool is missing or fails gets a note instead of a figure. The
# run takes about a minute on 2 cores. Every server binds 127.0.0.1.

set -u

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self=$srcdir/bench/run.sh

say() {
	echo "bench/run.sh: $*" >&2
}

builddir=$PWD
output=
quick=0
inner=0
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=${2:?--builddir needs a directory}; shift 2 ;;
	--output) output=${2:?--output needs a file}; shift 2 ;;
	--quick) quick=1; shift ;;
	--inner) inner=1; shift ;;
	*) say "unknown argument '$1'; usage: bench/run.sh [--builddir DIR] [--output FILE] [--quick]"; exit 2 ;;
	esac
done
builddir=$(cd "$builddir" && pwd) || exit 2
output=${output:-$builddir/bench-results.md}

bench=$builddir/bench/bench-flowcred
memory=$builddir/bench/bench-memory
plugin=$builddir/.libs/libflowcred.so.1

if [ "$inner" = 0 ]; then
	for file in "$bench" "$memory" "$plugin" "$builddir/flowcred"; do
		if [ ! -x "$file" ] && [ ! -f "$file" ]; then
			say "$file is missing: run 'make bench' in the build directory"
			exit 2
		fi
	done
	args=(--builddir "$builddir" --output "$output")
	[ "$quick" = 1 ] && args+=(--quick)
	exec "$srcdir/tests/harness/with-services.sh" /bin/bash "$self" --inner "${args[@]}"
fi

# From here on: inside the harness, which exports FLOWCRED_TEST_*.
umask 077
work=$FLOWCRED_TEST_DIR
conf=$work/bench.conf
results=$work/results.md
token_url=$FLOWCRED_TEST_URL/auth/realms/test/protocol/openid-connect/token
discovery_pid=
agent_pid=

if [ "$quick" = 1 ]; then
	cached_args=(5 10000) cold_rounds=20 herd_args=(1000 1) lookup_args=(5 5)
	memory_entries=1000 hf_warmup=1 hf_runs=5 hf_runs_python=3
else
	cached_args=(31 100000) cold_rounds=200 herd_args=(1000 3) lookup_args=(31 20)
	memory_entries=10000 hf_warmup=3 hf_runs=30 hf_runs_python=15
fi

stop_helpers() {
	local pid
	for pid in $agent_pid $discovery_pid; do
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	agent_pid=
	discovery_pid=
}
trap stop_helpers EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# Runs the benchmark program and appends its Markdown to the results.
run_bench() {
	say "bench-flowcred $*"
	"$bench" "$@" >>"$results" || {
		say "bench-flowcred $* failed"
		exit 1
	}
}

section() {
	printf '\n## %s\n\n' "$1" >>"$results"
}

note() {
	printf '%s\n' "$*" >>"$results"
}

package_version() {
	dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "not installed"
}

write_config() {
	cat >"$conf" <<EOF
[bench]
token_url = $token_url
client_id = NC_FlowPassCred
client_secret = flow-secret-1
ca_file = $FLOWCRED_TEST_CA

# Returns one canned token response to every request (bench-memory).
[bench-canned]
token_url = $FLOWCRED_TEST_URL/auth/realms/bench-canned/protocol/openid-connect/token
client_id = NC_FlowPassCred
client_secret = flow-secret-1
ca_file = $FLOWCRED_TEST_CA
logout = false
EOF
	printf '%s' flow-secret-1 >"$work/client-secret"
	# The pipeline's form fields except the password, which curl encodes
	# from secret-tool's output.
	printf '%s' 'grant_type=password&username=IFSAPP&scope=openid%20microprofile-jwt&client_id=NC_FlowPassCred&client_secret=flow-secret-1' \
		>"$work/pipeline-body"
}

machine_section() {
	local cpu debian
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	debian=$(cat /etc/debian_version 2>/dev/null || echo unknown)
	{
		echo "# flowcred benchmark results"
		echo
		echo "Run on $(date -u '+%Y-%m-%d %H:%M UTC') with bench/run.sh$([ "$quick" = 1 ] && echo ' --quick (figures not meaningful)')."
		echo
		echo "| | |"
		echo "|---|---|"
		echo "| CPUs (nproc) | $(nproc) |"
		echo "| CPU | ${cpu:-unknown} |"
		echo "| kernel | $(uname -r) |"
		echo "| Debian | $debian |"
		echo "| flowcred | $("$builddir/flowcred" --version 2>/dev/null | head -n 1) |"
		echo "| libcurl | $(package_version libcurl4) |"
		echo "| OpenSSL | $(package_version libssl3) |"
		echo "| GLib | $(package_version libglib2.0-0) |"
		echo "| libsecret | $(package_version libsecret-1-0) |"
		echo "| json-c | $(package_version libjson-c5) |"
		echo "| gnome-keyring | $(package_version gnome-keyring) |"
		echo "| Node.js (token server) | $(node --version 2>/dev/null) |"
		echo "| hyperfine | $(package_version hyperfine) |"
		echo "| oidc-agent | $(package_version oidc-agent) |"
		echo "| python3-keyring | $(package_version python3-keyring) |"
		echo "| python3-requests-oauthlib | $(package_version python3-requests-oauthlib) |"
		echo "| compiler flags | $(sed -n 's/^CFLAGS = //p' "$builddir/Makefile" 2>/dev/null) |"
		echo "| load average at the start (1, 5, 15 min) | $(cut -d ' ' -f 1-3 /proc/loadavg) |"
	} >"$results"
}

# Starts the discovery responder and oidc-agent and creates the account
# "bench" with the password flow. Returns non-zero, with the reason in
# $why, when that is not possible here. Runs in this shell, not in a
# subshell, so that stop_helpers can stop the processes it starts.
why=
setup_oidc_agent() {
	local port i issuer status
	command -v oidc-agent >/dev/null && command -v oidc-gen >/dev/null &&
		command -v oidc-token >/dev/null || {
		why="oidc-agent is not installed (apt-get install oidc-agent)"
		return 1
	}
	node "$srcdir/bench/discovery-server.js" \
		--cert "$FLOWCRED_TEST_CERTS/server.pem" --key "$FLOWCRED_TEST_CERTS/server.key" \
		--port-file "$work/discovery.port" --token-server "$FLOWCRED_TEST_URL" \
		</dev/null >>"$work/discovery.log" 2>&1 &
	discovery_pid=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$work/discovery.port" ] && break
		sleep 0.05
	done
	port=$(tr -cd 0-9 <"$work/discovery.port" 2>/dev/null)
	[ -n "$port" ] || {
		why="the discovery responder did not start: $(tail -n 3 "$work/discovery.log" | tr '\n' ' ')"
		return 1
	}
	issuer=https://127.0.0.1:$port/auth/realms/test

	mkdir -p "$XDG_CONFIG_HOME/oidc-agent"
	export OIDC_SOCK=$work/oidc-agent.sock
	# -d keeps the agent in the foreground, so $! is its id.
	oidc-agent --no-autoload -d -a "$OIDC_SOCK" </dev/null >>"$work/oidc-agent.log" 2>&1 &
	agent_pid=$!
	for ((i = 0; i < 100; i++)); do
		[ -S "$OIDC_SOCK" ] && break
		sleep 0.05
	done
	# The account file carries the client secret and the password, so
	# neither is in an argument. It is deleted once the account exists.
	cat >"$work/oidc-account.json" <<EOF
{"name": "bench", "issuer_url": "$issuer", "client_id": "NC_FlowPassCred",
 "client_secret": "flow-secret-1", "scope": "openid microprofile-jwt",
 "cert_path": "$FLOWCRED_TEST_CA", "username": "IFSAPP", "password": "Passw0rd!"}
EOF
	OIDC_ENCRYPTION_PW=bench-only timeout 60 oidc-gen bench -f "$work/oidc-account.json" \
		--flow=password --pw-env --confirm-default --prompt=none \
		</dev/null >>"$work/oidc-agent.log" 2>&1
	status=$?
	rm -f "$work/oidc-account.json"
	[ "$status" = 0 ] || {
		why="oidc-gen failed with status $status: $(tail -n 3 "$work/oidc-agent.log" | tr '\n' ' ')"
		return 1
	}
}

setup_python() {
	[ -x /usr/bin/python3 ] || {
		why="/usr/bin/python3 is missing"
		return 1
	}
	/usr/bin/python3 -c 'import keyring, requests_oauthlib, secretstorage' 2>/dev/null || {
		why="python3-keyring, python3-requests-oauthlib or python3-secretstorage is not installed"
		return 1
	}
	export BENCH_TOKEN_URL=$token_url BENCH_CA_FILE=$FLOWCRED_TEST_CA
	export BENCH_CLIENT_ID=NC_FlowPassCred BENCH_CLIENT_SECRET_FILE=$work/client-secret
	export BENCH_IFS_USER=IFSAPP BENCH_SCOPE="openid microprofile-jwt"
	if ! why=$(printf '%s' 'Passw0rd!' |
		/usr/bin/python3 "$srcdir/bench/python-grant.py" store 2>&1); then
		why="storing the password with keyring failed: $(printf '%s' "$why" | tail -n 2 | tr '\n' ' ')"
		return 1
	fi
}

write_pipeline() {
	cat >"$work/pipeline.sh" <<EOF
secret-tool lookup connector bench flow-user bench-machine |
curl -sS --fail --noproxy '*' --cacert '$FLOWCRED_TEST_CA' \\
	--data-binary @'$work/pipeline-body' --data-urlencode password@- '$token_url' |
sed -n 's/.*"access_token":"\\([^"]*\\)".*/\\1/p'
EOF
}

# hyperfine_one LABEL RUNS COMMAND...: checks that COMMAND prints a token,
# then times it with hyperfine and counts the token requests it caused.
# Adds "LABEL JSON REQUESTS" to hf_rows, or a note to hf_notes. With
# hf_prepare set, hyperfine runs that command before each run, untimed;
# with hf_no_token=1, COMMAND is not expected to print a token.
hf_rows=()
hf_notes=()
hf_prepare=
hf_no_token=0
hyperfine_one() {
	local label=$1 runs=$2 json out counts requests last_id
	local prepare=()
	shift 2
	[ -n "$hf_prepare" ] && prepare=(--prepare "$hf_prepare")
	json=$work/hyperfine-${#hf_rows[@]}-$RANDOM.json
	if [ "$hf_no_token" = 1 ]; then
		:
	elif ! out=$(timeout 60 "$@" 2>&1) || [ "${#out}" -lt 100 ]; then
		hf_notes+=("- $label: not measured, the command printed no token: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')")
		return
	fi
	# Counting from the last request id, not after POST /_test/reset,
	# keeps the sessions that caches outside this process still hold.
	last_id=$("$bench" server-last-id) || exit 1
	say "hyperfine: $label"
	if ! hyperfine -N --warmup "$hf_warmup" --runs "$runs" "${prepare[@]}" \
		--export-json "$json" "$(printf '%q ' "$@")" >>"$work/hyperfine.log" 2>&1; then
		hf_notes+=("- $label: hyperfine failed: $(tail -n 2 "$work/hyperfine.log" | tr '\n' ' ')")
		return
	fi
	counts=$("$bench" server-count "$last_id") || exit 1
	requests=${counts#* }
	hf_rows+=("$label" "$json" "$(awk -v r="$requests" -v n=$((hf_warmup + runs)) 'BEGIN { printf "%.2f", r / n }')")
}

# Copies the CLI's programs into $work/cli as they would be installed:
# the real executables, not the libtool wrapper scripts of the build tree,
# which would add a shell and two helper processes to every run. The front
# end flowcred runs the flowcred-admin next to it; libflowcred.so.1 comes
# from LD_LIBRARY_PATH.
install_cli() {
	local name src
	mkdir -p "$work/cli"
	for name in flowcred flowcred-admin; do
		src=$builddir/$name
		[ -e "$src" ] || continue
		if [ "$(head -c 2 "$src")" = '#!' ] && [ -x "$builddir/.libs/$name" ]; then
			src=$builddir/.libs/$name
		fi
		cp "$src" "$work/cli/$name"
	done
}

cli_section() {
	local flowcred_bin
	section "4. Command-line token"
	if ! command -v hyperfine >/dev/null; then
		note "Not measured: hyperfine is not installed (apt-get install hyperfine)."
		return
	fi
	hf_no_token=1
	hyperfine_one "/bin/true (a process start, for scale)" "$hf_runs" /bin/true
	hf_no_token=0

	install_cli
	flowcred_bin=$work/cli/flowcred
	local saved_path=${LD_LIBRARY_PATH-}
	export LD_LIBRARY_PATH=$builddir/.libs${saved_path:+:$saved_path}
	hyperfine_one "flowcred token" "$hf_runs" \
		"$flowcred_bin" --config "$conf" token bench bench-machine
	# flowcred logout ends the session and empties every cache of it.
	hf_prepare="$(printf '%q ' "$flowcred_bin" --config "$conf" logout bench bench-machine)"
	hyperfine_one "flowcred token, cold: flowcred logout before each run" "$hf_runs" \
		"$flowcred_bin" --config "$conf" token bench bench-machine
	hf_prepare=
	# Leaves no token of this run in the user's kernel keyring.
	"$flowcred_bin" --config "$conf" logout bench bench-machine >/dev/null 2>&1
	if [ -n "$saved_path" ]; then
		LD_LIBRARY_PATH=$saved_path
	else
		unset LD_LIBRARY_PATH
	fi

	write_pipeline
	hyperfine_one "secret-tool lookup \\| curl \\| sed pipeline" "$hf_runs" sh "$work/pipeline.sh"

	if setup_oidc_agent; then
		hyperfine_one "oidc-token (oidc-agent, password flow account)" "$hf_runs" oidc-token bench
	else
		hf_notes+=("- oidc-token: not measured: $why")
	fi

	if setup_python; then
		hyperfine_one "Python: keyring + requests-oauthlib" "$hf_runs_python" \
			/usr/bin/python3 "$srcdir/bench/python-grant.py"
	else
		hf_notes+=("- Python: not measured: $why")
	fi

	if [ "${#hf_rows[@]}" -gt 0 ]; then
		/usr/bin/python3 "$srcdir/bench/report-hyperfine.py" "${hf_rows[@]}" >>"$results" ||
			note "report-hyperfine.py failed"
	fi
	note ""
	note "hyperfine -N (no shell), ${hf_warmup} warm-up runs each, output discarded; token requests per run are counted at the server over warm-up and timed runs, so 0.00 means every run was served from a cache. The pipeline and the Python script keep no cache."
	local line
	for line in "${hf_notes[@]}"; do
		note "$line"
	done
	stop_helpers
}

write_config
machine_section
run_bench store

section "1. Cached token in process"
note "flowcred_get_token() with the token cached: \"stored\" is a machine-workflow user (password in the keyring), \"typed\" an interactive user whose password the call passes, which the library fingerprints (HMAC-SHA-256) on every call to find its entry. The variants take turns batch by batch; each batch is timed as a whole, and ns per call is the batch time divided by the calls of one thread."
note ""
run_bench cached "${cached_args[@]}"

section "2. Cold grant"
note "Every flowcred call is a password grant: flowcred_logout() after each one, outside the clock, drops the cached token and its refresh token. Rounds alternate the clients in rotating order against the same endpoint; the bare POSTs send the same body with the same TLS verification. The keyring lookup row is there to tell the keyring's share of a grant from the rest. Client CPU counts every thread of the benchmark process (GDBus has a worker thread), or of the curl process."
note ""
run_bench cold "$cold_rounds"

section "3. Concurrent callers, cold cache"
note "The threads wait at a barrier and then call flowcred_get_token() on a fresh context for one machine-workflow user. The server's request log (GET /_test/requests) gives the grants it received."
note ""
run_bench herd "${herd_args[@]}"

cli_section

section "5. Keyring lookup"
run_bench lookup "${lookup_args[@]}"

section "6. Memory"
note "A host that loads the plugin with dlopen() (bench-memory), one interactive user with $memory_entries distinct typed passwords, each its own cache entry, from realm bench-canned, whose endpoint returns one canned password-grant answer for any password."
note ""
say "bench-memory $memory_entries"
"$memory" "$plugin" "$memory_entries" >>"$results" || {
	say "bench-memory failed"
	exit 1
}

note ""
note "Load average at the end (1, 5, 15 min): $(cut -d ' ' -f 1-3 /proc/loadavg). It counts the benchmark's own processes; the one at the start shows the other work on these $(nproc) CPUs before the run."
cp "$results" "$output"
cat "$results"
say "results written to $output"
