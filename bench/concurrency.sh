#!/usr/bin/env bash
# Usage: bench/concurrency.sh [BUILD_DIR]
#        (BENCH_CONC_JOBS=J, default 8; BENCH_CONC_SECONDS=S, default 3)
#
# Does agentbox keep up when an agent runs many commands at once? J loops
# run at the same time, each starting its command again and again for S
# seconds (bench/concurrency.c), with bare /bin/true, bench/floor.c (the
# kernel work alone of a --net none namespace sandbox, see startup.sh),
# the hand-written bubblewrap line (bench_bwrap in common.sh, the same
# command line bench/startup.sh times; left out when bwrap is not on PATH)
# and agentbox run --backend builtin -- /bin/true. Two rounds of each in
# the order bare, floor, bwrap, agentbox, agentbox, bwrap, floor, bare, so
# that a drift in machine load weighs on all alike. Prints commands per
# second of each (the mean of its two rounds), the ratios, and the targets:
# issue #17's (agentbox at least 0.75x the floor and at least 2x bwrap)
# and the older one of issue #3 (at least 0.6x bare). Called by
# bench/startup.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
bench_init concurrency "${1:-build}"

jobs=${BENCH_CONC_JOBS:-8}
secs=${BENCH_CONC_SECONDS:-3}
bench_cc concurrency
bench_cc floor -static-pie
bench_cli builtin
order=(bare floor bwrap agentbox-builtin agentbox-builtin bwrap floor bare)
if ! bench_bwrap; then
	echo "concurrency: bwrap not found on PATH; the bwrap line and its target are left out" >&2
	order=(bare floor agentbox-builtin agentbox-builtin floor bare)
fi

raw=$out/concurrency.txt
echo "# variant jobs seconds total_runs commands_per_second" >"$raw"
for n in "${order[@]}"; do
	case $n in
	bare) cmd=(/bin/true) ;;
	floor) cmd=("$out/floor" /bin/true) ;;
	bwrap) cmd=("${bwrap_cmd[@]}") ;;
	*) cmd=("${ab_cmd[@]}") ;;
	esac
	res=$("$out/concurrency" "$jobs" "$secs" "${cmd[@]}")
	read -r total rate <<<"$res"
	echo "$n $jobs $secs $total $rate" >>"$raw"
done

mean_rate() { awk -v n="$1" '$1 == n { s += $5; k++ } END { printf "%.1f", k ? s / k : 0 }' "$raw"; }
bare=$(mean_rate bare)
floor=$(mean_rate floor)
bw=$(mean_rate bwrap)
abi=$(mean_rate agentbox-builtin)

echo "== 3. concurrency: $jobs parallel loops for ${secs} s, $(nproc) CPU(s)"
printf '\n  %-18s %14s\n' variant "commands/s"
printf '  %-18s %14s\n' bare "$bare" floor "$floor"
[ -n "$bwrap" ] && printf '  %-18s %14s\n' bwrap "$bw"
printf '  %-18s %14s\n' agentbox-builtin "$abi"
t=$out/targets-concurrency.txt
: >"$t"
echo
awk -v f="$floor" -v b="$bare" 'BEGIN {
	printf "  %-46s %8.2fx   (the most any namespace sandbox can reach here)\n", "floor / bare (cmd/s)", f / b }'
[ -n "$bwrap" ] && awk -v w="$bw" -v b="$bare" -v f="$floor" 'BEGIN {
	printf "  %-46s %8.2fx\n", "bwrap / bare (cmd/s)", w / b
	printf "  %-46s %8.2fx   (the ceiling of the >= 2x target below: the floor itself)\n",
		"floor / bwrap by hand (cmd/s)", f / w }'
echo "  targets of issue #17:"
target "$t" "#17 agentbox-builtin / floor (cmd/s)" "$(ratio "$abi" "$floor")" ">=" 0.75 x
if [ -n "$bwrap" ]; then
	target "$t" "#17 agentbox-builtin / bwrap by hand (cmd/s)" "$(ratio "$abi" "$bw")" ">=" 2 x
fi
echo "  older target (issue #3):"
target "$t" "#3 agentbox-builtin / bare (cmd/s)" "$(ratio "$abi" "$bare")" ">=" 0.6 x
echo "  agentbox command: ${ab_cmd[*]}"
[ -n "$bwrap" ] && echo "  hand-written bwrap command: ${bwrap_cmd[*]}"
echo "  raw rounds: $raw"
