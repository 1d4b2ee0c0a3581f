#!/bin/bash
# Builds the libFuzzer target for the proxy's request parsers with clang and
# runs it for a bounded time on a copy of the seed corpus.
#
#   scripts/fuzz.sh [SECONDS]   (default 60)
#
# Needs clang and its fuzzer runtime (Debian: clang, libclang-rt-14-dev).
set -eu
secs=${1:-60}
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build-fuzz
command -v clang >/dev/null || { echo "fuzz.sh: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$top" -Dfuzz=true -Dstatic_cli=false -Db_lundef=false >/dev/null
fi
ninja -C "$build" tests/fuzz_http_head >/dev/null
corpus=$(mktemp -d "${TMPDIR:-/tmp}/agentbox-fuzz.XXXXXX")
trap 'rm -rf "$corpus"' EXIT
cp "$top"/tests/fuzz/corpus/* "$corpus/"
"$build/tests/fuzz_http_head" -max_total_time="$secs" -max_len=70000 -timeout=10 \
	-print_final_stats=1 "$corpus"
