#!/usr/bin/env bash
# Usage: bench/concurrency.sh [BUILD_DIR]
#        (BENCH_CONC_JOBS=J, default 8; BENCH_CONC_SECONDS=S, default 3)
#
# Does agentbox keep up when an agent runs many commands at once? J loops
# run at the same time, each starting its command again and again for S
# seconds (bench/concurrency.c), once with bare /bin/true and once with
# agentbox run --backend builtin -- /bin/true, and bench/floor.c (the
# kernel work alone of a --net none namespace sandbox, see startup.sh).
# Two rounds of each in the order bare, floor, agentbox, agentbox, floor,
# bare, so that a drift in machine load weighs on all alike. Prints
# commands per second of each (the mean of its two rounds) and the ratios.
# Called by bench/startup.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
bench_init concurrency "${1:-build}"

jobs=${BENCH_CONC_JOBS:-8}
secs=${BENCH_CONC_SECONDS:-3}
bench_cc concurrency
bench_cc floor -static-pie
bench_cli builtin

raw=$out/concurrency.txt
echo "# variant jobs seconds total_runs commands_per_second" >"$raw"
for n in bare floor agentbox-builtin agentbox-builtin floor bare; do
	case $n in
	bare) cmd=(/bin/true) ;;
	floor) cmd=("$out/floor" /bin/true) ;;
	*) cmd=("${ab_cmd[@]}") ;;
	esac
	res=$("$out/concurrency" "$jobs" "$secs" "${cmd[@]}")
	read -r total rate <<<"$res"
	echo "$n $jobs $secs $total $rate" >>"$raw"
done

mean_rate() { awk -v n="$1" '$1 == n { s += $5; k++ } END { printf "%.1f", s / k }' "$raw"; }
bare=$(mean_rate bare)
floor=$(mean_rate floor)
abi=$(mean_rate agentbox-builtin)

echo "== 3. concurrency: $jobs parallel loops for ${secs} s, $(nproc) CPU(s)"
printf '\n  %-18s %14s\n' variant "commands/s"
printf '  %-18s %14s\n' bare "$bare" floor "$floor" agentbox-builtin "$abi"
t=$out/targets-concurrency.txt
: >"$t"
echo
awk -v a="$abi" -v f="$floor" -v b="$bare" 'BEGIN {
	printf "  %-34s %8.2fx   (the most any namespace sandbox can reach here)\n", "floor / bare (cmd/s)", f / b
	printf "  %-34s %8.2fx\n", "agentbox-builtin / floor (cmd/s)", a / f }'
target "$t" "agentbox-builtin / bare (cmd/s)" \
	"$(awk -v a="$abi" -v b="$bare" 'BEGIN { printf "%.4f", a / b }')" ">=" 0.6 x
echo "  agentbox command: ${ab_cmd[*]}"
echo "  raw rounds: $raw"
