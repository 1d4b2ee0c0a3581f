#!/usr/bin/env bash
# Usage: bench/git_scan.sh [BUILD_DIR]          (BENCH_RUNS=N, default 40)
#
# What does the search for nested repositories (src/plan/nested_repos.c)
# and the reading of their git configuration cost per run? A workspace of
# about 100,000 files: a node_modules tree of 90,000 files (never entered:
# it has no .git directly inside), 10,000 source files in a tree six
# levels deep, and three nested repositories (one a submodule-like pointer
# file). Printed, as "median p10 p90" in ms:
#
#   scan-cold     the walk and the config reading alone ("git scan of ...: N ms"
#                 in agentbox explain), caches off (AGENTBOX_GLOB_CACHE=0)
#   scan-cached   the same with the cache on, tree unchanged: the saved
#                 search checked, the config read (issue #17)
#   scan-entered  the cold walk when the 90,000 files are in a directory
#                 that is not on the skip list ("deps"): the bound's case
#   run-cold      agentbox run -q --policy workspace-write --net none -- /bin/true,
#                 caches off (the deny glob walk's too)
#   run-cached    the same, caches on
#   run-depth0    the same with --git-scan-depth 0 (the top-level .git only)
#
# Raw data is left in bench/out/.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
BENCH_RUNS=${BENCH_RUNS:-40}
bench_init git_scan "${1:-build}"
bench_cc spawn_time

echo "git_scan: making a tree of about 100,000 files in $ws" >&2
bench_make_tree
git -C "$ws" init -q "$ws/src/m1/vendor-a"
git -C "$ws" init -q "$ws/src/m2/p2/vendor-b"
mkdir -p "$ws/.git/modules/sub" "$ws/sub"
git init -q --bare "$ws/.git/modules/sub"
echo "gitdir: ../.git/modules/sub" >"$ws/sub/.git"
echo "git_scan: $(find "$ws" -type f | wc -l) files" >&2

scan_ms() { # prints the ms of the workspace's "git scan of" note, one run
	"$ab" explain --policy workspace-write -C "$ws" |
		sed -n "s|^note: git scan of $ws: .*, \([0-9.]*\) ms.*|\1|p"
}
: >"$out/git_scan.scan"
: >"$out/git_scan.cached"
: >"$out/git_scan.entered"
for _ in $(seq 1 "$runs"); do
	AGENTBOX_GLOB_CACHE=0 scan_ms >>"$out/git_scan.scan"
done
scan_ms >/dev/null # saves the search (a tree younger than 2 s is saved twice)
sleep 2
scan_ms >/dev/null
for _ in $(seq 1 "$runs"); do
	scan_ms >>"$out/git_scan.cached"
done
mv "$ws/node_modules" "$ws/deps"
for _ in $(seq 1 "$runs"); do
	AGENTBOX_GLOB_CACHE=0 scan_ms >>"$out/git_scan.entered"
done
mv "$ws/deps" "$ws/node_modules"
AGENTBOX_GLOB_CACHE=0 "$out/spawn_time" "$runs" "$ab" run -q --policy workspace-write --net none -C "$ws" -- /bin/true \
	>"$out/git_scan.run"
sleep 2 # the move above: let the tree settle before the cache is saved
"$ab" run -q --policy workspace-write --net none -C "$ws" -- /bin/true
"$out/spawn_time" "$runs" "$ab" run -q --policy workspace-write --net none -C "$ws" -- /bin/true \
	>"$out/git_scan.run_cached"
"$out/spawn_time" "$runs" "$ab" run -q --policy workspace-write --net none --git-scan-depth 0 -C "$ws" -- /bin/true \
	>"$out/git_scan.run0"

ms_stats() { # FILE SCALE: median p10 p90 in ms (SCALE 1 for ms, 1000000 for ns)
	awk -v s="$2" '{ printf "%d\n", $1 * 1000 / s }' "$1" >"$1.us"
	read -r med p10 p90 < <(stats "$1.us")
	awk -v a="$med" -v b="$p10" -v c="$p90" 'BEGIN { printf "%.2f %.2f %.2f\n", a / 1000, b / 1000, c / 1000 }'
}
printf '%-14s %s\n' "(ms)" "median p10 p90"
printf '%-14s %s\n' scan-cold "$(ms_stats "$out/git_scan.scan" 1)"
printf '%-14s %s\n' scan-cached "$(ms_stats "$out/git_scan.cached" 1)"
printf '%-14s %s\n' scan-entered "$(ms_stats "$out/git_scan.entered" 1)"
printf '%-14s %s\n' run-cold "$(ms_stats "$out/git_scan.run" 1000000)"
printf '%-14s %s\n' run-cached "$(ms_stats "$out/git_scan.run_cached" 1000000)"
printf '%-14s %s\n' run-depth0 "$(ms_stats "$out/git_scan.run0" 1000000)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
