#!/bin/sh
# Usage: localize-archive.sh LD OBJCOPY AR NM IN.a OUT.a
#
# The installed libagentbox.a: the objects of IN.a (compiled with
# -fvisibility=hidden, the public functions marked AB_EXPORT) linked into
# one relocatable object with `ld -r`, whose hidden symbols objcopy then
# makes local. A program linking the archive sees only the ab_ API, as with
# the shared library, and cannot clash with (or call into) agentbox's
# internal functions such as xmalloc or plan_resolve.
#
# Why not a list of symbols to keep (objcopy --keep-global-symbols): the
# visibility attribute in include/agentbox.h is already that list, and the
# shared library uses the same one; --localize-hidden needs no second copy
# to keep in sync. Why `ld -r` first: localizing a symbol in one member of
# an archive would break the references from the other members; inside one
# object they are resolved by then. The check at the end refuses an archive
# that would export anything else (a new public function without AB_EXPORT
# is caught by tests/lib/t_exports.sh, the other direction).
set -eu
if [ $# -ne 6 ]; then
	echo "usage: $0 LD OBJCOPY AR NM IN.a OUT.a" >&2
	exit 2
fi
ld=$1 objcopy=$2 ar=$3 nm=$4 in=$5 out=$6
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ab-localize-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

"$ld" -r -o "$tmp/agentbox.o" --whole-archive "$in"
"$objcopy" --localize-hidden "$tmp/agentbox.o"
extra=$("$nm" -g --defined-only "$tmp/agentbox.o" | awk '$3 !~ /^ab_/ { print $3 }')
if [ -n "$extra" ]; then
	echo "localize-archive: $in would export symbols outside the ab_ API:" >&2
	echo "$extra" | sed 's/^/  /' >&2
	echo "fix: compile the library with -fvisibility=hidden and mark only agentbox.h's functions AB_EXPORT" >&2
	exit 1
fi
rm -f "$out"
"$ar" rcD "$out" "$tmp/agentbox.o"
