#!/bin/sh
# Builds flowcred with ThreadSanitizer in BUILD_DIR (default
# build-tsan/) and runs the tests that call one context from many
# threads. Any report fails the run: TSan exits with status 66.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build-tsan}

BUILD_DIR=$build "$top/scripts/build.sh" --disable-pam \
	CFLAGS="-O1 -g -fsanitize=thread" LDFLAGS="-fsanitize=thread"
make -C "$build" -s tests/lifecycle/check_lifecycle tests/check_api >/dev/null

TSAN_OPTIONS="halt_on_error=0 exitcode=66 suppressions=$top/tests/tsan/suppressions.txt"
export TSAN_OPTIONS
# One process per program, so the threads of every test share the
# sanitizer's view of the library.
CK_FORK=no
export CK_FORK
status=0
for test in tests/lifecycle/check_lifecycle tests/check_api; do
	log=$build/$(basename "$test").tsan.log
	if "$top/tests/harness/with-services.sh" "$build/$test" >"$log" 2>&1 &&
	    ! grep -q "WARNING: ThreadSanitizer" "$log"; then
		echo "tsan: $test clean"
	else
		echo "tsan: $test FAILED, see $log" >&2
		grep -A30 "WARNING: ThreadSanitizer" "$log" | head -60 >&2 || true
		status=1
	fi
	grep -h -E '^[0-9]+%: Checks' "$log" || true
done
exit "$status"
