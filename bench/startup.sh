#!/usr/bin/env bash
# Usage: bench/startup.sh [BUILD_DIR]        (BENCH_RUNS=N, default 200)
#
# What does running a command under agentbox cost? `make bench` runs this;
# it measures, prints the targets of issue #3 as met or missed, and never
# fails because of them. Four parts, each also runnable on its own:
#
#   1. CLI startup (this script): /bin/true run N times each way,
#        bare              /bin/true itself
#        floor             bench/floor.c: only the kernel work a --net none
#                          sandbox cannot avoid (one clone into user, mount,
#                          pid, ipc, uts and net namespaces, id maps, a PID 1
#                          that forks the command); the least any namespace
#                          sandbox can cost here
#        bwrap             the workspace-write policy written by hand as a
#                          bwrap command line (what the bwrap backend would
#                          produce, minus agentbox's own inner stage)
#        agentbox-bwrap    agentbox run --backend bwrap   -- /bin/true
#        agentbox-builtin  agentbox run --backend builtin -- /bin/true
#        agentbox-proxy    the same with --net proxy --allow-domain example.com
#                          (the proxy thread and the bridge's hand-over)
#      (all agentbox lines: -q --policy workspace-write --net none -C WS),
#      interleaved in rounds so that drift in machine load spreads over all
#      five, each run timed by bench/spawn_time.c (posix_spawn + waitpid).
#   2. bench/library.sh: ab_run() against posix_spawn in one program.
#   3. bench/concurrency.sh: commands per second from 8 parallel loops.
#   4. bench/rss.sh: peak resident memory of the agentbox process.
#
# Raw data is left in bench/out/.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "$0")/common.sh"
bench_init startup "${1:-build}"

bwrap=$(command -v bwrap || true)
[ -n "$bwrap" ] ||
	bench_die "bwrap not found on PATH; install the bubblewrap package (scripts/install-deps.sh)"
bench_cc spawn_time
# Static, like agentbox's CLI, so that the comparison is of work done.
bench_cc floor -static-pie
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

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

bench_cli bwrap
ab_bwrap_cmd=("${ab_cmd[@]}")
bench_cli builtin
ab_builtin_cmd=("${ab_cmd[@]}")
bench_cli builtin --net proxy --allow-domain example.com
ab_proxy_cmd=("${ab_cmd[@]}")

names=(bare floor bwrap agentbox-bwrap agentbox-builtin agentbox-proxy)
run_variant() {
	case $1 in
	bare) "$out/spawn_time" "$2" "${bare_cmd[@]}" ;;
	floor) "$out/spawn_time" "$2" "$out/floor" "${bare_cmd[@]}" ;;
	bwrap) "$out/spawn_time" "$2" "${bwrap_cmd[@]}" ;;
	agentbox-bwrap) "$out/spawn_time" "$2" "${ab_bwrap_cmd[@]}" ;;
	agentbox-builtin) "$out/spawn_time" "$2" "${ab_builtin_cmd[@]}" ;;
	agentbox-proxy) "$out/spawn_time" "$2" "${ab_proxy_cmd[@]}" ;;
	esac
}

# Warm the page cache and bwrap's/agentbox's caches; these runs are dropped.
for n in "${names[@]}"; do
	run_variant "$n" 5 >/dev/null
	: >"$out/startup-$n.ns"
done
rm -f "$out/startup-agentbox.ns" # from the three-variant version of this script

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

declare -A med
echo "== 1. CLI startup of /bin/true, $runs runs each, $(nproc) CPU(s), kernel $(uname -r)"
echo "  load average before: $load_before (other work on the machine widens p10..p90 and moves the ratios)"
echo "  bwrap: $bwrap ($("$bwrap" --version 2>/dev/null | head -n 1))"
echo "  agentbox: $ab"
printf '\n  %-18s %12s %25s\n' variant median "p10 .. p90"
for n in "${names[@]}"; do
	read -r m p10 p90 < <(stats "$out/startup-$n.ns")
	med[$n]=$m
	awk -v n="$n" -v m="$m" -v a="$p10" -v b="$p90" 'BEGIN {
		printf "  %-18s %9.3f ms %11.3f .. %7.3f ms\n", n, m / 1e6, a / 1e6, b / 1e6 }'
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
bare=${med[bare]} floor=${med[floor]} bw=${med[bwrap]} abw=${med[agentbox-bwrap]} abi=${med[agentbox-builtin]}
abp=${med[agentbox-proxy]}
t=$out/targets-startup.txt
: >"$t"
echo
echo "  ratios of the medians:"
target "$t" "agentbox-builtin / bare" "$(ratio "$abi" "$bare")" "<=" 2.5 x
target "$t" "agentbox-builtin / agentbox-bwrap" "$(ratio "$abi" "$abw")" "<=" 0.4 x
awk -v bare="$bare" -v floor="$floor" -v abi="$abi" -v bw="$bw" -v abw="$abw" -v abp="$abp" 'BEGIN {
	printf "  %-34s %8.2fx   (the kernel'"'"'s share: no namespace sandbox can go below it)\n",
		"floor / bare", floor / bare
	printf "  %-34s %8.2fx   (agentbox adds %.3f ms over the floor)\n",
		"agentbox-builtin / floor", abi / floor, (abi - floor) / 1e6
	printf "  %-34s %8.2fx\n", "bwrap / bare", bw / bare
	printf "  %-34s %8.2fx\n", "agentbox-bwrap / bare", abw / bare
	printf "  %-34s %8.2fx   (agentbox adds %.3f ms over bwrap alone)\n",
		"agentbox-bwrap / bwrap", abw / bw, (abw - bw) / 1e6
	printf "  %-34s %8.2fx   (--net proxy adds %.3f ms)\n",
		"agentbox-proxy / agentbox-builtin", abp / abi, (abp - abi) / 1e6
}'
echo
echo "  hand-written bwrap command:"
echo "    ${bwrap_cmd[*]}"
echo "  agentbox commands: ${ab_builtin_cmd[*]}  (and --backend bwrap)"
echo "  with the proxy: ${ab_proxy_cmd[*]}"
echo "  raw nanoseconds per run: $out/startup-{$(IFS=,; echo "${names[*]}")}.ns"

for part in library concurrency rss proxy; do
	echo
	bash "$here/$part.sh" "$build"
done

echo
echo "== summary of the targets (measured on this machine, this run)"
cat "$out"/targets-{startup,library,concurrency,rss,proxy}.txt
