#!/usr/bin/env bash
# Usage: bench/phases.sh [BUILD_DIR]        (BENCH_RUNS=N, default 200)
#
# Where one `agentbox run -- /bin/true` spends its time, phase by phase:
# bench/phases.c runs the same command line as bench/startup.sh with
# AGENTBOX_PHASES=1 and prints the median of each phase (from one phase
# mark, src/common/phase_clock.h, to the next), for the built-in engine and
# for the bwrap backend. The marks cost one write(2) each, so the total is
# a little above bench/startup.sh's. Called by bench/startup.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
bench_init phases "${1:-build}"
bench_cc phases

for backend in builtin bwrap; do
	[ "$backend" = bwrap ] && ! command -v bwrap >/dev/null && continue
	bench_cli "$backend"
	echo "== phases of one run, --backend $backend, $runs runs (median of each phase)"
	"$out/phases" "$runs" "${ab_cmd[@]}"
	echo
done
