#!/usr/bin/env bash
# Usage: bench/glob_walk.sh [BUILD_DIR]          (BENCH_RUNS=N, default 20)
#
# What does expanding deny globs (src/plan/deny_globs.c) cost per run,
# walked afresh and taken from the cache (src/plan/glob_cache.c)? A
# workspace of about 100,000 files: a node_modules tree of 90,000 files,
# 10,000 source files six levels deep, and a few matches (.env, a key, a
# .pem at depth 6, a secrets/ directory). The patterns: the built-in
# secret set (which skips node_modules) and --deny '**/*.tok' (which
# enters it). Printed, as "median p10 p90" in ms:
#
#   walk-cold     the walk alone, cache off (AGENTBOX_GLOB_CACHE=0), from
#                 explain's "deny glob walk of ...: N ms" note
#   walk-cached   the same with the cache on, tree unchanged: only the
#                 directories' times are checked
#   run-cold      agentbox run -q --policy workspace-write --deny '**/*.tok' -- /bin/true,
#                 cache off
#   run-cached    the same, cache on
#   run-none      the same run with --no-default-secret-globs and no --deny
#                 (no walk at all): the baseline
#
# Raw data is left in bench/out/.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
BENCH_RUNS=${BENCH_RUNS:-20}
bench_init glob_walk "${1:-build}"
bench_cc spawn_time

echo "glob_walk: making a tree of about 100,000 files in $ws" >&2
bench_make_tree
mkdir -p "$ws/secrets"
touch "$ws/.env" "$ws/.env.example" "$ws/src/m1/server.key" "$ws/src/m3/p3/x/y/z/cert.pem" \
	"$ws/secrets/db.tok" "$ws/node_modules/pkg7/lib/a.tok"
echo "glob_walk: $(find "$ws" -type f | wc -l) files; letting the tree settle for the cache" >&2
sleep 3

flags=(--policy workspace-write --deny '**/*.tok' -C "$ws")
walk_ms() { # the ms of the "deny glob walk of" note, one explain
	"$ab" explain "${flags[@]}" | sed -n "s|^note: deny glob walk of $ws: .* trees skipped, \([0-9.]*\) ms.*|\1|p"
}
: >"$out/glob_walk.cold"
: >"$out/glob_walk.cached"
for _ in $(seq 1 "$runs"); do
	AGENTBOX_GLOB_CACHE=0 walk_ms >>"$out/glob_walk.cold"
done
walk_ms >/dev/null # fills the cache
"$ab" explain "${flags[@]}" | grep -q "from the cache" ||
	bench_die "the second walk did not come from the cache; is the state directory writable?"
for _ in $(seq 1 "$runs"); do
	walk_ms >>"$out/glob_walk.cached"
done
AGENTBOX_GLOB_CACHE=0 "$out/spawn_time" "$runs" "$ab" run -q "${flags[@]}" -- /bin/true >"$out/glob_walk.run_cold"
"$out/spawn_time" "$runs" "$ab" run -q "${flags[@]}" -- /bin/true >"$out/glob_walk.run_cached"
"$out/spawn_time" "$runs" "$ab" run -q --policy workspace-write --no-default-secret-globs -C "$ws" -- /bin/true \
	>"$out/glob_walk.run_none"

ms_stats() { # FILE SCALE: median p10 p90 in ms (SCALE 1 for ms, 1000000 for ns)
	awk -v s="$2" '{ printf "%d\n", $1 * 1000 / s }' "$1" >"$1.us"
	read -r med p10 p90 < <(stats "$1.us")
	awk -v a="$med" -v b="$p10" -v c="$p90" 'BEGIN { printf "%.2f %.2f %.2f\n", a / 1000, b / 1000, c / 1000 }'
}
printf '%-14s %s\n' "(ms)" "median p10 p90"
printf '%-14s %s\n' walk-cold "$(ms_stats "$out/glob_walk.cold" 1)"
printf '%-14s %s\n' walk-cached "$(ms_stats "$out/glob_walk.cached" 1)"
printf '%-14s %s\n' run-cold "$(ms_stats "$out/glob_walk.run_cold" 1000000)"
printf '%-14s %s\n' run-cached "$(ms_stats "$out/glob_walk.run_cached" 1000000)"
printf '%-14s %s\n' run-none "$(ms_stats "$out/glob_walk.run_none" 1000000)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
