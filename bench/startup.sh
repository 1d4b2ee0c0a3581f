#!/usr/bin/env bash
# Usage: bench/startup.sh [BUILD_DIR]        (BENCH_RUNS=N, default 200)
#
# What does starting a command under agentbox cost? Times three ways of
# running /bin/true, N runs each:
#   bare      /bin/true itself
#   bwrap     the workspace-write policy written by hand as a bwrap command
#             line (what agentbox would produce, minus its own inner stage)
#   agentbox  agentbox run --policy workspace-write -- /bin/true
# The runs are interleaved in rounds so that drift in machine load spreads
# over all three. Each run is timed by bench/spawn_time.c (posix_spawn +
# waitpid, CLOCK_MONOTONIC). Prints median, p10 and p90 of each and the
# ratios of the medians. No assertions: this reports, it does not judge.
# Raw per-run nanoseconds are left in bench/out/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
runs=${BENCH_RUNS:-200}
case $runs in
'' | *[!0-9]*) echo "startup: BENCH_RUNS must be a positive number, not '$runs'" >&2; exit 2 ;;
esac
[ "$runs" -ge 1 ] || { echo "startup: BENCH_RUNS must be at least 1" >&2; exit 2; }

ab=$(cd "$build" 2>/dev/null && pwd)/agentbox || true
if [ ! -x "$ab" ]; then
	echo "startup: $build/agentbox not found; build it first with 'make'" >&2
	exit 2
fi
bwrap=$(command -v bwrap || true)
if [ -z "$bwrap" ]; then
	echo "startup: bwrap not found on PATH; install the bubblewrap package (scripts/install-deps.sh)" >&2
	exit 2
fi

out=$here/out
mkdir -p "$out"
timer=$out/spawn_time
if [ ! -x "$timer" ] || [ "$here/spawn_time.c" -nt "$timer" ]; then
	${CC:-cc} -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror \
		-o "$timer" "$here/spawn_time.c"
fi

ws=$(mktemp -d "${TMPDIR:-/tmp}/agentbox-bench.XXXXXX")
trap 'rm -rf "$ws"' EXIT
git -C "$ws" init -q

bare_cmd=(/bin/true)

# The same view agentbox builds for workspace-write: / read-only, a fresh
# /dev, /tmp (and $TMPDIR) and the workspace writable, its .git kept
# read-only, new user/pid/ipc/net namespaces, a fresh /proc, no capabilities.
# Like agentbox, use --as-pid-1 when this bwrap has it (one process fewer).
# Left out: the masks agentbox adds for .git/.agentbox that do not exist yet
# (they need host placeholders, which agentbox creates and removes).
bwrap_cmd=("$bwrap" --new-session --die-with-parent)
if "$bwrap" --help 2>&1 | grep -q -- '--as-pid-1'; then
	bwrap_cmd+=(--as-pid-1)
fi
bwrap_cmd+=(--ro-bind / / --dev /dev --bind /tmp /tmp)
if [ -n "${TMPDIR:-}" ] && [ -d "$TMPDIR" ] && [ "$TMPDIR" != /tmp ]; then
	bwrap_cmd+=(--bind "$TMPDIR" "$TMPDIR")
fi
bwrap_cmd+=(--bind "$ws" "$ws" --ro-bind "$ws/.git" "$ws/.git"
	--unshare-user --unshare-pid --unshare-ipc --unshare-net
	--proc /proc --chdir "$ws" --cap-drop ALL -- /bin/true)

agentbox_cmd=("$ab" run -q --policy workspace-write -C "$ws" -- /bin/true)

names=(bare bwrap agentbox)
run_variant() {
	case $1 in
	bare) "$timer" "$2" "${bare_cmd[@]}" ;;
	bwrap) "$timer" "$2" "${bwrap_cmd[@]}" ;;
	agentbox) "$timer" "$2" "${agentbox_cmd[@]}" ;;
	esac
}

# Warm the page cache and bwrap's/agentbox's caches; these runs are dropped.
for n in "${names[@]}"; do
	run_variant "$n" 5 >/dev/null
	: >"$out/startup-$n.ns"
done

rounds=10
[ "$runs" -lt "$rounds" ] && rounds=$runs
done_runs=0
for ((r = 0; r < rounds; r++)); do
	# Spread the remainder over the first rounds.
	chunk=$(((runs - done_runs) / (rounds - r)))
	# Rotate the order so that no variant always runs right after another.
	for ((k = 0; k < ${#names[@]}; k++)); do
		n=${names[$(((r + k) % ${#names[@]}))]}
		run_variant "$n" "$chunk" >>"$out/startup-$n.ns"
	done
	done_runs=$((done_runs + chunk))
done

# median p10 p90 in nanoseconds
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 }
	END {
		n = NR
		med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		printf "%d %d %d\n", med, v[int(0.1 * (n - 1)) + 1], v[int(0.9 * (n - 1)) + 1]
	}'
}

declare -A med
echo "startup of /bin/true, $runs runs each, $(nproc) CPU(s), kernel $(uname -r)"
echo "  bwrap: $bwrap ($("$bwrap" --version 2>/dev/null | head -n 1))"
echo "  agentbox: $ab"
printf '\n  %-10s %12s %25s\n' variant median "p10 .. p90"
for n in "${names[@]}"; do
	read -r m p10 p90 < <(stats "$out/startup-$n.ns")
	med[$n]=$m
	awk -v n="$n" -v m="$m" -v a="$p10" -v b="$p90" 'BEGIN {
		printf "  %-10s %9.3f ms %11.3f .. %7.3f ms\n", n, m / 1e6, a / 1e6, b / 1e6 }'
done
awk -v bare="${med[bare]}" -v bw="${med[bwrap]}" -v ab="${med[agentbox]}" 'BEGIN {
	printf "\nratios of the medians:\n"
	printf "  agentbox / bare   %7.2fx\n", ab / bare
	printf "  bwrap    / bare   %7.2fx\n", bw / bare
	printf "  agentbox / bwrap  %7.2fx   (agentbox adds %.3f ms over bwrap alone)\n", ab / bw, (ab - bw) / 1e6
}'
echo
echo "hand-written bwrap command:"
echo "  ${bwrap_cmd[*]}"
echo "agentbox's own command line for comparison: $ab explain --policy workspace-write -C DIR -- /bin/true"
echo "raw nanoseconds per run: $out/startup-{bare,bwrap,agentbox}.ns"
