#!/bin/sh
# Runs flowcred's memory checks, each in a build directory of its own:
#
#   asan      the whole `make check` built with AddressSanitizer and
#             UndefinedBehaviorSanitizer (BUILD_DIR_ASAN, default
#             build-asan/). Any ASan or UBSan report fails a test. Leaks
#             count when LeakSanitizer's allocation stack passes through
#             the library's own sources (src/); leaks wholly inside GLib,
#             libsecret, libcurl or the test programs are listed only.
#   valgrind  the flowcred CLI commands and the dlopen() host
#             tests/host-dlopen under valgrind's memcheck, against the
#             harness's keyring and token server (BUILD_DIR_VALGRIND,
#             default build-valgrind/). Any memcheck error or definitely
#             lost block fails.
#
# Usage: scripts/sanitizers.sh [asan] [valgrind]   (default: both)
#
# The last line is "sanitizers: N passed, N failed", counting steps.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
asan_build=${BUILD_DIR_ASAN:-$top/build-asan}
valgrind_build=${BUILD_DIR_VALGRIND:-$top/build-valgrind}
steps=${*:-asan valgrind}
passed=0
failed=0

pass() {
	echo "sanitizers: $1 passed"
	passed=$((passed + 1))
}

fail() {
	echo "sanitizers: $1 FAILED: $2" >&2
	failed=$((failed + 1))
}

# --- ASan and UBSan ----------------------------------------------------------

run_asan() {
	sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all"
	if ! BUILD_DIR=$asan_build "$top/scripts/build.sh" \
		CFLAGS="-O1 -g -fno-omit-frame-pointer $sanitize" \
		LDFLAGS="$sanitize"; then
		fail asan "the build failed"
		return
	fi
	logs=$asan_build/sanitizer-logs
	rm -rf "$logs"
	mkdir -p "$logs"

	# Reports go to files, one per process, and are judged below: a
	# test's forked children exit through LeakSanitizer too.
	# exitcode=0 keeps a leak from failing the child by itself; memory
	# errors still abort it.
	# verify_asan_link_order=0: pam_wrapper is preloaded ahead of the
	# ASan runtime in the PAM tests.
	ASAN_OPTIONS="detect_leaks=1:log_path=$logs/asan:verify_asan_link_order=0"
	LSAN_OPTIONS="exitcode=0"
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
	# pam_wrapper must not load PAM modules with RTLD_DEEPBIND under
	# ASan, which interposes the allocator.
	PAM_WRAPPER_DISABLE_DEEPBIND=1
	# Check's per-test timeouts, stretched for sanitized code, which
	# runs several times slower (an estimate, not measured per test).
	CK_TIMEOUT_MULTIPLIER=4
	export ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS \
		PAM_WRAPPER_DISABLE_DEEPBIND CK_TIMEOUT_MULTIPLIER

	status=0
	make -C "$asan_build" -j"$(nproc)" check >"$asan_build/check.log" 2>&1 ||
		status=$?
	"$top/scripts/summarize-checks.sh" "$asan_build" || true

	errors=$(grep -l -E "ERROR: AddressSanitizer|runtime error:" \
		"$logs"/* 2>/dev/null)
	# A leak report runs from its "Direct leak" or "Indirect leak" line
	# to the next blank line. It is the library's when a frame names a
	# file under src/.
	our_leaks=$(for f in "$logs"/asan.*; do
		[ -f "$f" ] || continue
		awk '/^(Direct|Indirect) leak/ { inblock = 1; header = $0; ours = 0; next }
		     inblock && /^[[:space:]]*$/ { if (ours) print FILENAME ": " header; inblock = 0; next }
		     inblock && /(^|[ \/])src\/[a-z_-]+\.c:[0-9]/ { ours = 1 }
		     END { if (inblock && ours) print FILENAME ": " header }' "$f"
	done | sort -u)
	other_leaks=$(grep -l "ERROR: LeakSanitizer" "$logs"/* 2>/dev/null | wc -l)

	reasons=""
	if [ -n "$errors" ]; then
		for f in $errors; do
			echo "---- $f" >&2
			grep -B2 -A30 -E "ERROR: AddressSanitizer|runtime error:" "$f" |
				head -60 >&2
		done
		reasons="ASan or UBSan reports in $(echo "$errors" | wc -l) processes"
	fi
	if [ -n "$our_leaks" ]; then
		echo "$our_leaks" | head -20 >&2
		reasons="${reasons:+$reasons; }leaks allocated through src/ (a test that failed part-way may leave its context unclosed)"
	fi
	if [ "$status" != 0 ]; then
		grep -E "^(FAIL|ERROR):" "$asan_build/check.log" >&2
		reasons="${reasons:+$reasons; }make check failed (see $asan_build/check.log)"
	fi
	if [ -n "$reasons" ]; then
		fail asan "$reasons; reports in $logs"
	else
		pass asan
	fi
	echo "asan: $other_leaks processes reported leaks outside src/ (see $logs)"
}

# --- valgrind ------------------------------------------------------------------

# Runs inside tests/harness/with-services.sh: the CLI and the dlopen host
# under memcheck, each command its own run.
valgrind_session() {
	build=$1
	dir=$FLOWCRED_TEST_DIR
	config=$dir/valgrind.conf
	user=valgrind-flow
	status=0

	umask 077
	cat >"$config" <<EOF
[vg]
token_url = $FLOWCRED_TEST_URL/auth/realms/test/protocol/openid-connect/token
client_id = NC_FlowPassCred
client_secret = flow-secret-1
ca_file = $FLOWCRED_TEST_CA

[flowcred]
keyring_timeout = 5
EOF
	memcheck="valgrind --quiet --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --show-leak-kinds=definite \
		--num-callers=30"

	# check NAME INPUT COMMAND...: one run; INPUT goes to stdin.
	check() {
		name=$1
		input=$2
		shift 2
		log=$build/valgrind-$name.log
		printf '%s' "$input" | "$@" >"$log.out" 2>"$log"
		rc=$?
		if [ "$rc" = 99 ] || grep -q "definitely lost in [1-9]" "$log"; then
			echo "valgrind: $name: memcheck errors, see $log" >&2
			head -60 "$log" >&2
			status=1
		elif [ "$rc" != 0 ]; then
			echo "valgrind: $name: exit status $rc, see $log" >&2
			tail -5 "$log" >&2
			status=1
		else
			echo "valgrind: $name clean"
		fi
	}

	admin="$build/libtool --mode=execute $memcheck $build/flowcred-admin --config $config"
	# shellcheck disable=SC2086
	{
		check store 'Passw0rd!' $admin store vg "$user" --ifs-user IFSAPP --password-stdin
		check lookup '' $admin lookup vg "$user"
		check list '' $admin list
		check token '' $admin token vg "$user"
		check token-typed 'Passw0rd!' $admin token vg "$user" --password-stdin
		check check '' $admin check vg
		check logout '' $admin logout vg "$user"
		check front-end '' $memcheck "$build/flowcred" --config "$config" token vg "$user"
		check host-dlopen '' $memcheck "$build/tests/host-dlopen" \
			--plugin "$build/.libs/libflowcred.so.1" --config "$config" \
			--connector vg --machine-user "$user"
		check clear '' $admin clear vg "$user"
	}
	return "$status"
}

run_valgrind() {
	if ! command -v valgrind >/dev/null; then
		fail valgrind "valgrind is not installed (apt-get install valgrind)"
		return
	fi
	if ! BUILD_DIR=$valgrind_build "$top/scripts/build.sh" CFLAGS="-O1 -g" ||
		! make -C "$valgrind_build" -s tests/host-dlopen >/dev/null; then
		fail valgrind "the build failed"
		return
	fi
	if "$top/tests/harness/with-services.sh" "$0" --valgrind-session \
		"$valgrind_build"; then
		pass valgrind
	else
		fail valgrind "see $valgrind_build/valgrind-*.log"
	fi
}

if [ "${1:-}" = --valgrind-session ]; then
	valgrind_session "$2"
	exit
fi

for step in $steps; do
	case $step in
	asan) run_asan ;;
	valgrind) run_valgrind ;;
	*)
		echo "usage: $0 [asan] [valgrind]" >&2
		exit 2
		;;
	esac
done
echo "sanitizers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
