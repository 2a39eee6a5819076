#!/bin/sh
# Builds flowcred's libFuzzer targets with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, replays each seed corpus, then fuzzes each
# target for SECONDS (default 60).
#
# Usage: tests/fuzz/run.sh [SECONDS]
#
# Environment:
#   BUILD_DIR      a configured build tree whose config.h is used (default:
#                  build/ under the top source directory); when it has no
#                  config.h, configure runs in FUZZ_WORK_DIR/conf
#   FUZZ_WORK_DIR  objects, targets, grown corpora, crash artifacts and
#                  logs (default: ${TMPDIR:-/tmp}/flowcred-fuzz)
#   FUZZ_KEEP_GOING  1: fuzz past known failures and collect them all
#   FUZZ_CC        the compiler (default: clang, which must support
#                  -fsanitize=fuzzer: Debian's clang 14 with libclang-rt-14-dev)
#
# Exits non-zero when a target fails to build, crashes, leaks, hangs for
# more than 10 s on one input or triggers a sanitizer report. The last
# line is "N passed, N failed", counting targets.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-60}
work=${FUZZ_WORK_DIR:-${TMPDIR:-/tmp}/flowcred-fuzz}
build=${BUILD_DIR:-$top/build}
cc=${FUZZ_CC:-clang}
targets="answer config form"

case $seconds in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS]" >&2
	exit 2
	;;
esac

mkdir -p "$work/obj" "$work/bin" "$work/logs" "$work/artifacts"
: >"$work/logs/build.log"

# config.h from the given build tree, else from a configure run of our own.
if [ -f "$build/config.h" ]; then
	config_dir=$build
else
	config_dir=$work/conf
	if [ ! -f "$config_dir/config.h" ]; then
		if [ ! -x "$top/configure" ]; then
			(cd "$top" && autoreconf -fi >/dev/null 2>&1) || {
				echo "fuzz: autoreconf failed" >&2
				exit 1
			}
		fi
		mkdir -p "$config_dir"
		(cd "$config_dir" && "$top/configure" >"$work/logs/configure.log" 2>&1) || {
			echo "fuzz: configure failed; see $work/logs/configure.log" >&2
			exit 1
		}
	fi
fi

# The library's sources, compiler flags and libraries, as the build tree's
# Makefile has them for libflowcred-core.la, so the targets follow the
# library when files or dependencies are added.
make_value() {
	printf 'print-fuzz-value:\n\t@echo $(%s)\n' "$1" |
		make --no-print-directory -s -C "$config_dir" -f Makefile -f - print-fuzz-value
}
sources=$(make_value libflowcred_core_la_SOURCES) &&
	lib_cflags=$(make_value libflowcred_core_la_CFLAGS) &&
	libs=$(make_value 'libflowcred_core_la_LIBADD) $(LIBS') || {
	echo "fuzz: cannot read the library's sources from $config_dir/Makefile" >&2
	exit 1
}
# The library's warning flags are for its own build, and -Werror would make
# a clang-only warning fail the fuzz build.
lib_cflags=$(printf '%s\n' $lib_cflags | grep -v -e '^-Werror' | tr '\n' ' ')

sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all"
cflags="-g -O1 -fno-omit-frame-pointer $sanitize -I$top/include -I$top/src -I$config_dir $lib_cflags"

# The library compiled once with coverage instrumentation for every target.
objects=""
build_ok=1
for source in $sources; do
	case $source in
	*.c) ;;
	*) continue ;;
	esac
	object=$work/obj/$(basename "$source" .c).o
	# shellcheck disable=SC2086
	if ! $cc $cflags -fsanitize=fuzzer-no-link -c "$top/$source" -o "$object" \
		>>"$work/logs/build.log" 2>&1; then
		echo "fuzz: cannot compile $source; see $work/logs/build.log" >&2
		build_ok=0
	fi
	objects="$objects $object"
done

# Replays the seeds, then fuzzes into a scratch corpus so the seeds in
# the source tree stay as committed.
run_target() {
	target=$1
	binary=$work/bin/fuzz_$target
	seeds=$top/tests/fuzz/corpus/$target
	grown=$work/corpus/$target
	log=$work/logs/$target.log
	dict=$top/tests/fuzz/$target.dict
	dict_option=""

	[ -f "$dict" ] && dict_option="-dict=$dict"
	mkdir -p "$grown"
	: >"$log"

	# shellcheck disable=SC2086
	if ! $cc $cflags -fsanitize=fuzzer "$top/tests/fuzz/fuzz_$target.c" \
		$objects $libs -o "$binary" >>"$log" 2>&1; then
		echo "fuzz_$target: build failed" >&2
		tail -n 20 "$log" >&2
		return 1
	fi

	result=0
	rm -f "$work/artifacts/$target-"*
	# shellcheck disable=SC2086
	if ! "$binary" -runs=0 -timeout=10 -max_len=131072 $dict_option \
		-artifact_prefix="$work/artifacts/$target-replay-" \
		"$seeds" >>"$log" 2>&1; then
		echo "fuzz_$target: seed corpus replay failed" >&2
		tail -n 40 "$log" >&2
		[ "$keep_going" = 1 ] || return 1
		result=1
	fi
	if [ "$seconds" -gt 0 ]; then
		# shellcheck disable=SC2086
		if ! "$binary" -max_total_time="$seconds" -timeout=10 \
			-rss_limit_mb=2048 -max_len=131072 -print_final_stats=1 \
			-artifact_prefix="$work/artifacts/$target-" $dict_option \
			$fork_options "$grown" "$seeds" >>"$log" 2>&1 &&
			[ "$keep_going" != 1 ]; then
			echo "fuzz_$target: fuzzing found a failure; artifacts in $work/artifacts" >&2
			tail -n 60 "$log" >&2
			return 1
		fi
		# With FUZZ_KEEP_GOING, libFuzzer goes on after a failure, so
		# the artifacts it wrote are the verdict.
		if ls "$work/artifacts/$target-"* 2>/dev/null |
			grep -v -e "-replay-" >/dev/null; then
			echo "fuzz_$target: fuzzing found failures:" >&2
			ls "$work/artifacts/$target-"* >&2
			grep -h -E "^(SUMMARY|==[0-9]+==ERROR|fuzz_$target:)" "$log" |
				sort | uniq -c >&2
			return 1
		fi
	fi
	[ "$result" = 0 ] || return 1
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	# Fork mode prints no final statistics, only progress lines "#N ...".
	[ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
	echo "fuzz_$target: passed (${runs:-0} inputs in ${seconds} s after the seeds)"
	return 0
}

# FUZZ_KEEP_GOING=1 fuzzes past known failures: the seed replay's result
# is kept but fuzzing still runs, in fork mode, and every failure it
# finds is saved instead of ending the run.
keep_going=${FUZZ_KEEP_GOING:-0}
fork_options=""
[ "$keep_going" = 1 ] &&
	fork_options="-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

passed=0
failed=0
for target in $targets; do
	if [ "$build_ok" = 1 ] && run_target "$target"; then
		passed=$((passed + 1))
	else
		[ "$build_ok" = 1 ] || echo "fuzz_$target: not run, the library did not compile" >&2
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
