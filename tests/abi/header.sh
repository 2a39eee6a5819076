#!/bin/sh
# Checks that include/flowcred.h compiles with -Wall -Wextra -Werror
# -pedantic as C99, C11, C++11 and C++17, by compiling
# tests/abi/header-use.c, which includes it first and uses every
# declaration.
#
# Usage: sh tests/abi/header.sh
# CC and CXX choose the compilers (default: cc and c++). Prints one line
# per check and a closing "N passed, N failed" line.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
source=$top/tests/abi/header-use.c
cc=${CC:-cc}
cxx=${CXX:-c++}
warnings="-Wall -Wextra -Werror -pedantic"

passed=0
failed=0
skipped=0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# Compiles the source with compiler $1, language $2 and standard $3.
check_compile() {
	compiler=$1
	language=$2
	standard=$3
	extra=""
	# Old-style declarations such as "f()" are only a C problem.
	[ "$language" = c ] && extra="-Wstrict-prototypes -Wmissing-prototypes"
	# shellcheck disable=SC2086
	if "$compiler" -x "$language" -std="$standard" $warnings $extra \
		-I"$top/include" -c "$source" -o "$tmp/out.o" \
		>"$tmp/log" 2>&1; then
		echo "ok - flowcred.h compiles as $standard with $compiler"
		passed=$((passed + 1))
	else
		sed 's/^/    /' "$tmp/log"
		echo "FAIL - flowcred.h does not compile as $standard with $compiler $warnings"
		failed=$((failed + 1))
	fi
}

for standard in c99 c11; do
	if command -v "$cc" >/dev/null 2>&1; then
		check_compile "$cc" c "$standard"
	else
		echo "FAIL - C compiler '$cc' not found"
		failed=$((failed + 1))
	fi
done
for standard in c++11 c++17; do
	if command -v "$cxx" >/dev/null 2>&1; then
		check_compile "$cxx" c++ "$standard"
	else
		echo "skip - C++ compiler '$cxx' not found; install g++"
		skipped=$((skipped + 1))
	fi
done

if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
