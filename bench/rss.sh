#!/usr/bin/env bash
# Usage: bench/rss.sh [BUILD_DIR]     (BENCH_RSS_RUNS=N, default 20 or BENCH_RUNS if less)
#
# How much memory does the agentbox process itself take while it runs a
# command? bench/peak_rss.c reads the process's VmHWM (peak resident set
# of its own address space) as it exits, which leaves out the sandbox init
# and the command. The ru_maxrss that wait4 reports is shown next to it;
# it can differ both ways: it also covers the reaped descendants and the
# address space the process had before its exec, and the kernel keeps it
# from approximate counters. Bare /bin/true and the bwrap backend are
# measured the same way for scale. Called by bench/startup.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
bench_init rss "${1:-build}"

n=${BENCH_RSS_RUNS:-}
if [ -z "$n" ]; then
	n=20
	[ "$runs" -lt "$n" ] && n=$runs
fi
case $n in
'' | *[!0-9]*) bench_die "BENCH_RSS_RUNS must be a positive number, not '$n'" ;;
esac
[ "$n" -ge 1 ] || bench_die "BENCH_RSS_RUNS must be at least 1"
bench_cc peak_rss

echo "== 4. peak RSS of the process started (agentbox itself, not the sandbox), $n runs each"
printf '\n  %-18s %21s %24s\n' variant "VmHWM median / max" "ru_maxrss median / max"
for v in bare agentbox-bwrap agentbox-builtin; do
	case $v in
	bare) cmd=(/bin/true) ;;
	agentbox-*) bench_cli "${v#agentbox-}" && cmd=("${ab_cmd[@]}") ;;
	esac
	"$out/peak_rss" "$n" "${cmd[@]}" >"$out/rss-$v.kb"
	awk '{ print $1 }' "$out/rss-$v.kb" >"$out/rss-$v.hwm"
	awk '{ print $2 }' "$out/rss-$v.kb" >"$out/rss-$v.maxrss"
	hwm_med=$(stats "$out/rss-$v.hwm" | cut -d' ' -f1)
	hwm_max=$(sort -n "$out/rss-$v.hwm" | tail -n 1)
	mr_med=$(stats "$out/rss-$v.maxrss" | cut -d' ' -f1)
	mr_max=$(sort -n "$out/rss-$v.maxrss" | tail -n 1)
	printf '  %-18s %10s / %5s kB %13s / %5s kB\n' "$v" "$hwm_med" "$hwm_max" "$mr_med" "$mr_max"
done
rm -f "$out"/rss-*.hwm "$out"/rss-*.maxrss

t=$out/targets-rss.txt
: >"$t"
echo
# The largest of the runs: a peak is what the target is about.
target "$t" "agentbox-builtin peak RSS (VmHWM)" \
	"$(awk -v k="$hwm_max" 'BEGIN { printf "%.4f", k / 1024 }')" "<=" 2 " MiB"
echo "  raw per run (VmHWM kB, ru_maxrss kB): $out/rss-{bare,agentbox-bwrap,agentbox-builtin}.kb"
