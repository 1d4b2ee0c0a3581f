# shellcheck shell=bash disable=SC2034 # the variables set here are used by the sourcing scripts
# Shared by the bench/*.sh scripts; sourced, not run.
#
# After `bench_init NAME BUILD_DIR`: $here (bench/), $top (the source tree),
# $build, $ab (the agentbox binary), $runs (BENCH_RUNS, default 200), $out
# (bench/out/, raw data) and $ws (a scratch git workspace, removed on exit).

bench_init() {
	bench_name=$1
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	top=$(cd "$here/.." && pwd)
	build=${2:-build}
	runs=${BENCH_RUNS:-200}
	case $runs in
	'' | *[!0-9]*) bench_die "BENCH_RUNS must be a positive number, not '$runs'" ;;
	esac
	[ "$runs" -ge 1 ] || bench_die "BENCH_RUNS must be at least 1"
	build=$(cd "$build" 2>/dev/null && pwd) ||
		bench_die "build directory '${2:-build}' not found; build it first with 'make'"
	ab=$build/agentbox
	[ -x "$ab" ] || bench_die "$ab not found; build it first with 'make'"
	out=$here/out
	mkdir -p "$out"
	ws=$(mktemp -d "${TMPDIR:-/tmp}/agentbox-bench.XXXXXX")
	trap 'rm -rf "$ws"' EXIT
	git -C "$ws" init -q
	# agentbox refuses to run from where its sandbox could write (the
	# command could replace it for later runs). The build directory is out
	# of workspace-write's reach unless the tree is under /tmp or $TMPDIR;
	# timing a run that warns would not be the usual run, so say so and stop.
	local self_json
	self_json=$("$ab" explain --json --policy workspace-write -C "$ws" 2>/dev/null || true)
	if grep -q '"self":{[^}]*"verdict":"refused"' <<<"$self_json"; then
		bench_die "$ab lies where workspace-write lets the sandbox write (/tmp or \$TMPDIR), so agentbox refuses to run it; build in a directory outside those (or set TMPDIR elsewhere)"
	fi
}

bench_die() {
	echo "$bench_name: $*" >&2
	exit 2
}

# bench_cc NAME [CC ARGS...]: builds bench/NAME.c into $out/NAME when the
# source or one of the shared headers bench/*.h is newer than the binary
# (or always, with BENCH_REBUILD=1).
bench_cc() {
	local name=$1 h stale=
	shift
	if [ -n "${BENCH_REBUILD:-}" ] || [ ! -x "$out/$name" ] || [ "$here/$name.c" -nt "$out/$name" ]; then
		stale=1
	fi
	for h in "$here"/*.h; do
		if [ "$h" -nt "$out/$name" ]; then stale=1; fi
	done
	if [ -n "$stale" ]; then
		${CC:-cc} -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror \
			-o "$out/$name" "$here/$name.c" "$@" ||
			bench_die "cannot compile bench/$name.c with ${CC:-cc}"
	fi
}

# The CLI command every section times: workspace-write, no network, quiet.
# bench_cli BACKEND [NETWORK-OPTIONS...] fills the array ab_cmd (network
# options default to --net none).
bench_cli() {
	local backend=$1
	shift
	[ $# -gt 0 ] || set -- --net none
	ab_cmd=("$ab" run -q --backend "$backend" --policy workspace-write "$@" -C "$ws" -- /bin/true)
}

# bench_bwrap: the workspace-write view written by hand as one bubblewrap
# command line, so that bench/startup.sh and bench/concurrency.sh time
# exactly the same one. Sets $bwrap (its path) and fills the array
# bwrap_cmd with the command running /bin/true; returns 1, leaving both
# empty, when bwrap is not on PATH.
#
# The same view agentbox builds for workspace-write: / read-only, a fresh
# /dev, /tmp (and $TMPDIR) and the workspace writable, its .git kept
# read-only, new user/pid/ipc/net namespaces, a fresh /proc, no capabilities.
# Like agentbox, use --as-pid-1 when this bwrap has it (one process fewer).
# Left out: the masks agentbox adds for .git/.agentbox that do not exist yet
# (they need host placeholders, which agentbox creates and removes), and
# agentbox's own inner stage and seccomp filter.
bench_bwrap() {
	bwrap_cmd=()
	bwrap=$(command -v bwrap || true)
	[ -n "$bwrap" ] || return 1
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
}

# ratio A B: A / B with four decimals (for target).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }

# stats FILE: "median p10 p90" of the numbers in FILE, one per line.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 }
	END {
		if (NR == 0) { print "0 0 0"; exit }
		n = NR
		med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		printf "%d %d %d\n", med, v[int(0.1 * (n - 1)) + 1], v[int(0.9 * (n - 1)) + 1]
	}'
}

# target FILE LABEL VALUE OP LIMIT UNIT: prints whether VALUE OP LIMIT holds
# (OP is <= or >=) and appends the same line to FILE for the summary that
# bench/startup.sh prints at the end. Reports; never fails the run. LABEL
# starts with the issue that set the target ("#17 ...", "#3 ..."): the
# summary lists issue #17's targets first and the older ones after them.
target() {
	awk -v label="$2" -v v="$3" -v op="$4" -v lim="$5" -v unit="$6" 'BEGIN {
		ok = (op == "<=") ? (v <= lim) : (v >= lim)
		printf "  %-46s %8.2f%-4s target %s %g%s: %s\n", label, v, unit, op, lim, unit,
			ok ? "met" : "missed"
	}' | tee -a "$1"
}

# bench_make_tree: about 100,000 files in $ws, the tree bench/git_scan.sh
# and bench/glob_walk.sh walk: 90,000 in node_modules (900 packages of
# 100), 10,000 under src/ five levels down (100 directories of 100).
bench_make_tree() {
	local p a b d
	for p in $(seq 1 900); do
		mkdir -p "$ws/node_modules/pkg$p/lib"
		# shellcheck disable=SC2046 # one name per word
		(cd "$ws/node_modules/pkg$p/lib" && touch $(seq -f 'f%g.js' 1 100))
	done
	for a in $(seq 1 10); do
		for b in $(seq 1 10); do
			d="$ws/src/m$a/p$b/x/y/z"
			mkdir -p "$d"
			# shellcheck disable=SC2046
			(cd "$d" && touch $(seq -f 'f%g.c' 1 100))
		done
	done
}
