#!/bin/sh
# Shows that abi/check-abi.sh catches ABI breaks and lets compatible
# changes through. It checks BUILD_DIR as built, then compiles variants
# of the library from copies of include/ and src/ in a temporary folder,
# each with one deliberate change, and runs check-abi.sh on each. The
# real sources and BUILD_DIR are never written.
#
# Usage: abi/test-guard.sh BUILD_DIR
#
# BUILD_DIR is a configured build of this tree with the library built
# and CFLAGS containing -g. The variants reuse its config.h and the
# compiler and linker flags its Makefile gives libflowcred.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
if [ "$#" -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
check="$top/abi/check-abi.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

passed=0
failed=0

pass() {
	echo "ok - $1"
	passed=$((passed + 1))
}

fail() {
	echo "FAIL - $1"
	failed=$((failed + 1))
}

# Prints the build settings of libflowcred from BUILD_DIR's Makefile, one
# "NAME=VALUE" line each, with srcdir pointing at the copy in $1. The
# override is target-specific so that make does not regenerate the
# Makefile from the copy.
print_build_settings() {
	cat >"$tmp/settings.mk" <<'MAKE'
print-abi-settings: srcdir = $(ABI_GUARD_SRCDIR)
print-abi-settings: top_srcdir = $(ABI_GUARD_SRCDIR)
print-abi-settings:
	@echo "SOURCES=$(filter %.c,$(libflowcred_core_la_SOURCES))"
	@echo "CPPFLAGS=$(DEFS) $(AM_CPPFLAGS) $(CPPFLAGS)"
	@echo "CFLAGS=$(libflowcred_core_la_CFLAGS) $(CFLAGS)"
	@echo "LIBS=$(libflowcred_core_la_LIBADD) $(LIBS)"
	@echo "LDFLAGS=$(filter -Wl$(comma)%,$(libflowcred_la_LDFLAGS)) $(LDFLAGS)"
comma := ,
MAKE
	make -s -C "$build" -f Makefile -f "$tmp/settings.mk" \
		ABI_GUARD_SRCDIR="$1" print-abi-settings
}

# Copies the sources into $tmp/$1 for a variant.
copy_sources() {
	mkdir -p "$tmp/$1/.libs"
	cp -R "$top/include" "$top/src" "$tmp/$1/"
}

# Builds $tmp/$1/.libs/libflowcred.so.1 from the copied sources with
# BUILD_DIR's settings. -Werror is dropped because a deliberately changed
# variant may warn; the variant only has to link.
build_variant() {
	dir=$tmp/$1
	print_build_settings "$dir" >"$tmp/$1.settings" || return 1
	sources=$(sed -n 's/^SOURCES=//p' "$tmp/$1.settings")
	cppflags=$(sed -n 's/^CPPFLAGS=//p' "$tmp/$1.settings")
	cflags=$(sed -n 's/^CFLAGS=//p' "$tmp/$1.settings" |
		sed 's/\(^\| \)-Werror\( \|$\)/ /g')
	libs=$(sed -n 's/^LIBS=//p' "$tmp/$1.settings" |
		sed 's/[^ ]*libflowcred-core\.la//g')
	ldflags=$(sed -n 's/^LDFLAGS=//p' "$tmp/$1.settings")
	objects=""
	for source in $sources; do
		object=$dir/$(basename "$source" .c).o
		# shellcheck disable=SC2086
		${CC:-cc} -fPIC -I"$build" $cppflags $cflags \
			-c "$dir/$source" -o "$object" || return 1
		objects="$objects $object"
	done
	# shellcheck disable=SC2086
	${CC:-cc} -shared $cflags $ldflags -Wl,-soname,libflowcred.so.1 \
		-o "$dir/.libs/libflowcred.so.1" $objects $libs
}

# Runs check-abi.sh on a variant; $2 is "pass" or "fail", the expected
# verdict, and $3 describes the change.
check_variant() {
	name=$1
	expected=$2
	what=$3
	if ! build_variant "$name" >"$tmp/$name.build.log" 2>&1; then
		cat "$tmp/$name.build.log"
		fail "$name: the variant ($what) did not build"
		return 0
	fi
	rc=0
	"$check" "$tmp/$name" "$tmp/$name/include" >"$tmp/$name.log" 2>&1 || rc=$?
	if [ "$expected" = pass ] && [ "$rc" -eq 0 ]; then
		pass "$name: check-abi accepts $what"
	elif [ "$expected" = fail ] && [ "$rc" -ne 0 ]; then
		pass "$name: check-abi rejects $what (exit status $rc)"
		sed -n 's/^check-abi: FAIL: /    /p' "$tmp/$name.log"
	else
		cat "$tmp/$name.log"
		fail "$name: check-abi exited with $rc on $what, expected to $expected"
	fi
}

# Replaces text with sed in file and fails when the file did not change,
# so a variant that no longer applies to the sources is reported.
edit() {
	edit_file=$1
	edit_script=$2
	cp "$edit_file" "$edit_file.orig"
	sed -i "$edit_script" "$edit_file"
	if cmp -s "$edit_file" "$edit_file.orig"; then
		echo "the edit '$edit_script' does not apply to $edit_file" >&2
		return 1
	fi
	rm -f "$edit_file.orig"
}

# Prints the file under $1/src that contains the fixed string $2.
find_source() {
	found=$(grep -F -l -- "$2" "$1"/src/*.c "$1"/src/*.h | head -n 1)
	if [ -z "$found" ]; then
		echo "no file in $1/src contains '$2'" >&2
		return 1
	fi
	echo "$found"
}

# Prepares variant $1 with the edits of function $2, then checks it.
run_variant() {
	name=$1
	prepare=$2
	expected=$3
	what=$4
	copy_sources "$name"
	if ! "$prepare" "$tmp/$name" 2>"$tmp/$name.prepare.log"; then
		cat "$tmp/$name.prepare.log"
		fail "$name: cannot apply the change ($what) to the sources"
		return 0
	fi
	check_variant "$name" "$expected" "$what"
}

prepare_unchanged() {
	:
}

prepare_private_field() {
	file=$(find_source "$1" "struct flowcred_ctx {") || return 1
	edit "$file" 's/^struct flowcred_ctx {$/&\n\tlong guard_private_field;/'
}

prepare_new_version_node() {
	file=$(find_source "$1" "flowcred_version(void)") || return 1
	cat >>"$file" <<'C'

FLOWCRED_EXPORT int flowcred_guard_added(void);
FLOWCRED_EXPORT int flowcred_guard_added(void)
{
	return 1;
}
C
	cat >>"$1/src/libflowcred.map" <<'MAP'

FLOWCRED_1.1 {
global:
	flowcred_guard_added;
} FLOWCRED_1.0;
MAP
}

prepare_extra_parameter() {
	file=$(find_source "$1" "flowcred_abi_version(void)") || return 1
	edit "$1/include/flowcred.h" \
		's/flowcred_abi_version(void)/flowcred_abi_version(int generation)/' &&
		edit "$file" \
			's/flowcred_abi_version(void)/flowcred_abi_version(int generation)/'
}

prepare_enum_renumbered() {
	edit "$1/include/flowcred.h" 's/FLOWCRED_DENIED = 2,/FLOWCRED_DENIED = 20,/'
}

prepare_callback_changed() {
	edit "$1/include/flowcred.h" \
		's/(\*flowcred_log_func)(int priority,/(*flowcred_log_func)(long priority,/'
}

prepare_symbol_removed() {
	edit "$1/src/libflowcred.map" '/^[[:space:]]*flowcred_version;$/d'
}

echo "# check-abi on $build"
rc=0
"$check" "$build" >"$tmp/build.log" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
	pass "build: $build/.libs/libflowcred.so.1 matches the baseline"
else
	cat "$tmp/build.log"
	fail "build: check-abi exited with $rc on $build/.libs/libflowcred.so.1"
fi

echo "# variants compiled in $tmp"
run_variant unchanged prepare_unchanged pass \
	"the sources as they are"
run_variant private-field prepare_private_field pass \
	"a field added to the opaque struct flowcred_ctx"
run_variant new-version-node prepare_new_version_node pass \
	"a function added in a new version node FLOWCRED_1.1"
run_variant extra-parameter prepare_extra_parameter fail \
	"an extra parameter of flowcred_abi_version()"
run_variant enum-renumbered prepare_enum_renumbered fail \
	"FLOWCRED_DENIED renumbered from 2 to 20"
run_variant callback-changed prepare_callback_changed fail \
	"flowcred_log_func taking a long priority instead of an int"
run_variant symbol-removed prepare_symbol_removed fail \
	"flowcred_version removed from the version script"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
