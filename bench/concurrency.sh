#!/usr/bin/env bash
# Usage: bench/concurrency.sh [BUILD_DIR]
#        (BENCH_CONC_JOBS=J, default 8; BENCH_CONC_SECONDS=S, default 3)
#
# Does agentbox keep up when an agent runs many commands at once? J loops
# run at the same time, each starting its command again and again for S
# seconds (bench/concurrency.c), once with bare /bin/true and once with
# agentbox run --backend builtin -- /bin/true. Two rounds of each in the
# order bare, agentbox, agentbox, bare, so that a drift in machine load
# over the four rounds weighs on both sides alike. Prints commands per
# second of each (the mean of its two rounds) and the ratio. Called by
# bench/startup.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
bench_init concurrency "${1:-build}"

jobs=${BENCH_CONC_JOBS:-8}
secs=${BENCH_CONC_SECONDS:-3}
bench_cc concurrency
bench_cli builtin

raw=$out/concurrency.txt
echo "# variant jobs seconds total_runs commands_per_second" >"$raw"
for n in bare agentbox-builtin agentbox-builtin bare; do
	if [ "$n" = bare ]; then
		cmd=(/bin/true)
	else
		cmd=("${ab_cmd[@]}")
	fi
	res=$("$out/concurrency" "$jobs" "$secs" "${cmd[@]}")
	read -r total rate <<<"$res"
	echo "$n $jobs $secs $total $rate" >>"$raw"
done

mean_rate() { awk -v n="$1" '$1 == n { s += $5; k++ } END { printf "%.1f", s / k }' "$raw"; }
bare=$(mean_rate bare)
abi=$(mean_rate agentbox-builtin)

echo "== 3. concurrency: $jobs parallel loops for ${secs} s, $(nproc) CPU(s)"
printf '\n  %-18s %14s\n' variant "commands/s"
printf '  %-18s %14s\n' bare "$bare" agentbox-builtin "$abi"
t=$out/targets-concurrency.txt
: >"$t"
echo
target "$t" "agentbox-builtin / bare (cmd/s)" \
	"$(awk -v a="$abi" -v b="$bare" 'BEGIN { printf "%.4f", a / b }')" ">=" 0.6 x
echo "  agentbox command: ${ab_cmd[*]}"
echo "  raw rounds: $raw"
