#!/usr/bin/env bash
# Usage: bench/library.sh [BUILD_DIR]        (BENCH_RUNS=N, default 200)
#
# What does ab_run() cost a program that links libagentbox, next to the
# kernel's floor done by a library call and a bare posix_spawn of the same
# command? bench/lib_run.c does all three in one process, N runs each,
# interleaved in rounds (see the comment there): ab_run, floor_run (the
# clone, id maps and PID 1 of bench/floor.c, shared through
# bench/floor_core.h) and posix_spawn. It is linked against
# BUILD_DIR/libagentbox.a and rebuilt on every run, since that library
# changes more often than the program. Called by bench/startup.sh; prints
# the median, p10 and p90 of each and the targets: issue #17's (ab_run at
# most 1.2x the floor run the same way) and the older one of issue #3
# (at most 1.5x posix_spawn).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
bench_init library "${1:-build}"

lib=$build/libagentbox.a
[ -f "$lib" ] || bench_die "$lib not found; build it first with 'make'"
deps=$(pkg-config --libs libseccomp jansson 2>/dev/null || echo "-lseccomp -ljansson")
# shellcheck disable=SC2086 # $deps is a list of linker flags
BENCH_REBUILD=1 bench_cc lib_run -I"$top/include" -I"$top/src" "$lib" $deps

"$out/lib_run" --backend builtin "$runs" "$ws" >"$out/library.raw"
awk '$1 == "library" { print $2 }' "$out/library.raw" >"$out/library-ab_run.ns"
awk '$1 == "floor" { print $2 }' "$out/library.raw" >"$out/library-floor.ns"
awk '$1 == "posix_spawn" { print $2 }' "$out/library.raw" >"$out/library-posix_spawn.ns"

echo "== 2. library: /bin/true through ab_run() (built-in engine), the floor in-process and posix_spawn, $runs runs each"
echo "  libagentbox: $lib"
printf '\n  %-18s %12s %25s\n' variant median "p10 .. p90"
declare -A med
for n in ab_run floor posix_spawn; do
	read -r m p10 p90 < <(stats "$out/library-$n.ns")
	med[$n]=$m
	awk -v n="$n" -v m="$m" -v a="$p10" -v b="$p90" 'BEGIN {
		printf "  %-18s %9.3f ms %11.3f .. %7.3f ms\n", n, m / 1e6, a / 1e6, b / 1e6 }'
done
t=$out/targets-library.txt
: >"$t"
echo
awk -v a="${med[ab_run]}" -v f="${med[floor]}" 'BEGIN {
	printf "  ab_run adds %.3f ms over the floor in-process\n", (a - f) / 1e6 }'
echo "  target of issue #17:"
target "$t" "#17 ab_run / floor (in-process)" "$(ratio "${med[ab_run]}" "${med[floor]}")" "<=" 1.2 x
echo "  older target (issue #3):"
target "$t" "#3 ab_run / posix_spawn" "$(ratio "${med[ab_run]}" "${med[posix_spawn]}")" "<=" 1.5 x
echo "  raw nanoseconds per run: $out/library-{ab_run,floor,posix_spawn}.ns"
