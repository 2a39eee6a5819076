#!/bin/sh
# Checks the dynamic symbols of the built shared objects:
# - libflowcred.so.1 exports exactly the functions that include/flowcred.h
#   declares with FLOWCRED_EXPORT, each at the version node under which
#   src/libflowcred.map lists it (FLOWCRED_1.0 for every function of the
#   1.0 release), and its soname is libflowcred.so.1;
# - pam_flowcred.so exports only pam_sm_* functions.
#
# Usage: sh tests/abi/exports.sh [BUILD_DIR]
# BUILD_DIR defaults to the current directory, which is the build
# directory when make check runs the script. Prints one line per check
# and a closing "N passed, N failed" line.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-.}
header=$top/include/flowcred.h
map=$top/src/libflowcred.map
lib=$build/.libs/libflowcred.so.1
pam=$build/.libs/pam_flowcred.so

passed=0
failed=0
skipped=0

pass() {
	echo "ok - $1"
	passed=$((passed + 1))
}

fail() {
	echo "FAIL - $1"
	failed=$((failed + 1))
}

skip() {
	echo "skip - $1"
	skipped=$((skipped + 1))
}

finish() {
	if [ "$skipped" -gt 0 ]; then
		echo "$passed passed, $failed failed, $skipped skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	[ "$failed" -eq 0 ]
	exit
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# Prints the functions the header declares with FLOWCRED_EXPORT, one a
# line: for each declaration, the first identifier followed by "(" that
# is neither an all-capitals macro nor __attribute__.
exported_in_header() {
	perl -0777 -ne '
		s{/\*.*?\*/}{}gs;
		s{^\s*#.*$}{}mg;
		while (/\bFLOWCRED_EXPORT\b([^;{]*)/g) {
			my $decl = $1;
			while ($decl =~ /\b(\w+)\s*\(/g) {
				next if $1 eq "__attribute__" || $1 =~ /^[A-Z0-9_]+$/;
				print "$1\n";
				last;
			}
		}' "$1" | sort -u
}

# Prints "SYMBOL NODE" for each global symbol of the version script.
symbols_in_map() {
	perl -0777 -ne '
		s{/\*.*?\*/}{}gs;
		s{#.*$}{}mg;
		while (/([\w.]+)\s*\{(.*?)\}\s*([\w.]*)\s*;/gs) {
			my ($node, $body) = ($1, $2);
			$body =~ s/\blocal\s*:.*//s;
			$body =~ s/\bglobal\s*:\s*//;
			print "$_ $node\n" for grep { length } map { s/^\s+|\s+$//gr } split /;/, $body;
		}' "$1" | sort -u
}

# Prints the version nodes the script defines, one a line.
nodes_in_map() {
	perl -0777 -ne '
		s{/\*.*?\*/}{}gs;
		s{#.*$}{}mg;
		print "$1\n" while /([\w.]+)\s*\{.*?\}\s*[\w.]*\s*;/gs;' "$1" | sort -u
}

# Prints "TYPE NAME" for each symbol an ELF file defines in .dynsym;
# NAME keeps its "@@NODE" suffix.
defined_dynamic_symbols() {
	readelf --dyn-syms -W "$1" |
		awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $5 != "LOCAL" { print $4, $8 }'
}

for tool in readelf perl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		fail "$tool not found; install binutils and perl"
		finish
	fi
done
if [ ! -f "$lib" ]; then
	fail "$lib not found; build the library first"
	finish
fi

exported_in_header "$header" >"$tmp/header"
symbols_in_map "$map" >"$tmp/map"
defined_dynamic_symbols "$lib" >"$tmp/dynsym"

count=$(wc -l <"$tmp/header")
if [ "$count" -gt 0 ]; then
	pass "flowcred.h declares $count functions with FLOWCRED_EXPORT"
else
	fail "no FLOWCRED_EXPORT function found in $header"
fi

cut -d' ' -f1 "$tmp/map" | sort -u >"$tmp/map-names"
if cmp -s "$tmp/header" "$tmp/map-names"; then
	pass "libflowcred.map lists exactly the functions of flowcred.h"
else
	fail "libflowcred.map and flowcred.h list different functions:"
	diff "$tmp/header" "$tmp/map-names" | sed -n 's/^[<>]/   &/p' |
		sed 's/^   </    only in flowcred.h:/; s/^   >/    only in libflowcred.map:/'
fi

while read -r name; do
	node=$(awk -v n="$name" '$1 == n { print $2; exit }' "$tmp/map")
	if [ -z "$node" ]; then
		fail "$name: not in libflowcred.map, so it has no version node"
		continue
	fi
	type=$(awk -v s="$name@@$node" '$2 == s { print $1; exit }' "$tmp/dynsym")
	if [ "$type" = FUNC ]; then
		pass "$name is exported as a function at $node"
	else
		actual=$(awk -v n="$name" '$2 == n || index($2, n "@") == 1 { print $1, $2 }' \
			"$tmp/dynsym" | tr '\n' ' ')
		fail "$name is not exported as FUNC $name@@$node (found: ${actual:-nothing})"
	fi
done <"$tmp/header"

# Each version node also appears in .dynsym as an absolute symbol of that
# name; those are the version definitions, not exports.
nodes_in_map "$map" >"$tmp/nodes"
awk '{ print $2 }' "$tmp/dynsym" | grep -v '@' | sort -u >"$tmp/unversioned" || true
if cmp -s "$tmp/nodes" "$tmp/unversioned"; then
	pass "libflowcred.so.1 defines exactly the version nodes $(tr '\n' ' ' <"$tmp/nodes")"
else
	fail "unversioned symbols of libflowcred.so.1 differ from the version nodes of libflowcred.map:"
	diff "$tmp/nodes" "$tmp/unversioned" | sed -n 's/^[<>].*/    &/p'
fi

awk '{ sub(/@.*/, "", $2); print $2 }' "$tmp/dynsym" | sort -u >"$tmp/exported"
sort -u "$tmp/header" "$tmp/nodes" >"$tmp/allowed"
extra=$(comm -23 "$tmp/exported" "$tmp/allowed" | tr '\n' ' ')
if [ -z "$extra" ]; then
	pass "libflowcred.so.1 exports nothing beyond flowcred.h"
else
	fail "libflowcred.so.1 exports symbols that flowcred.h does not declare: $extra"
fi

soname=$(readelf -d -W "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
if [ "$soname" = libflowcred.so.1 ]; then
	pass "soname is libflowcred.so.1"
else
	fail "soname is '$soname', expected libflowcred.so.1"
fi

if [ ! -f "$pam" ]; then
	skip "$pam not built (configured with --disable-pam?)"
	finish
fi
defined_dynamic_symbols "$pam" >"$tmp/pam"
extra=$(awk '$2 !~ /^pam_sm_[a-z_]+(@.*)?$/ { print $2 }' "$tmp/pam" | tr '\n' ' ')
if [ -z "$extra" ]; then
	pass "pam_flowcred.so exports only pam_sm_* ($(awk '{ print $2 }' "$tmp/pam" | tr '\n' ' '))"
else
	fail "pam_flowcred.so exports symbols other than pam_sm_*: $extra"
fi
if awk '$1 == "FUNC" && $2 == "pam_sm_authenticate" { found = 1 } END { exit !found }' "$tmp/pam"; then
	pass "pam_flowcred.so exports pam_sm_authenticate"
else
	fail "pam_flowcred.so does not export pam_sm_authenticate"
fi
finish
