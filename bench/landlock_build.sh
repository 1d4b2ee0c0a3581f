#!/usr/bin/env bash
# Usage: bench/landlock_build.sh [BUILD_DIR]     (BENCH_RUNS=N, default 5)
#
# What does the Landlock backend's broker (src/backend/landlock/broker.h)
# cost a build-like load? Every file created, removed or renamed, and every
# chmod/utimes, goes to agentbox as a seccomp notification there. Two loads
# run in the workspace root (a git repository, so Landlock alone would
# refuse creation there and every call goes through the broker), under
# --backend landlock and --backend builtin (no notifications), interleaved:
#   files   create and then delete 10,000 files (xargs touch, xargs rm)
#   build   untar a small C project (40 sources) and compile it with make,
#           then remove it
# Prints the median wall time of each and the landlock/builtin ratio.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
BENCH_RUNS=${BENCH_RUNS:-5}
bench_init landlock_build "${1:-build}"

for t in cc make tar xargs; do
	command -v "$t" >/dev/null || bench_die "$t not found on PATH"
done
if "$ab" explain --backend landlock -C "$ws" 2>&1 | grep -q "landlock unavailable"; then
	bench_die "this kernel has no usable Landlock"
fi

# The project: 40 small translation units and a Makefile, as a tarball.
proj=$(mktemp -d "${TMPDIR:-/tmp}/agentbox-bench-proj.XXXXXX")
trap 'rm -rf "$ws" "$proj"' EXIT
mkdir "$proj/p"
for i in $(seq 1 40); do
	printf 'int f%d(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * %d; return s; }\n' "$i" "$i" >"$proj/p/u$i.c"
done
{
	printf 'int main(void) { return 0; }\n'
} >"$proj/p/main.c"
{
	printf 'OBJS = main.o'
	for i in $(seq 1 40); do printf ' u%d.o' "$i"; done
	# shellcheck disable=SC2016 # make's variables, not the shell's
	printf '\nprog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n%%.o: %%.c\n\t$(CC) -O1 -c -o $@ $<\n'
} >"$proj/p/Makefile"
tar -C "$proj" -cf "$proj/p.tar" p

files_cmd='seq -f f%g 10000 | xargs touch && seq -f f%g 10000 | xargs rm -f'
build_cmd="tar xf '$proj/p.tar' && make -s -C p >/dev/null && rm -rf p"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# run BACKEND CMD: prints the wall time in ms; fails loudly when the
# command fails (a broken run must not look fast).
run() {
	local t0 t1
	t0=$(now_ms)
	if ! "$ab" run -q --backend "$1" --policy workspace-write -C "$ws" -- sh -c "$2" >/dev/null; then
		bench_die "the $3 load failed under --backend $1"
	fi
	t1=$(now_ms)
	echo $((t1 - t0))
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }

declare -A times
for load in files build; do
	for b in landlock builtin; do
		times[$load.$b]=""
	done
done
for _ in $(seq 1 "$runs"); do
	for load in files build; do
		cmd=$files_cmd
		[ "$load" = build ] && cmd=$build_cmd
		for b in landlock builtin; do
			times[$load.$b]+="$(run "$b" "$cmd" "$load") "
		done
	done
done

echo "landlock_build: median wall time over $runs runs (ms), workspace root of a git repository"
for load in files build; do
	ll=$(tr ' ' '\n' <<<"${times[$load.landlock]}" | grep . | median)
	bi=$(tr ' ' '\n' <<<"${times[$load.builtin]}" | grep . | median)
	ratio=$(awk -v a="$ll" -v b="$bi" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}')
	printf '  %-6s landlock %6s   builtin %6s   ratio %s\n' "$load" "$ll" "$bi" "$ratio"
	echo "$load landlock=${times[$load.landlock]} builtin=${times[$load.builtin]}" >>"$out/landlock_build.txt"
done
