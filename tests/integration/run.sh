#!/bin/bash
# Integration suite: runs the real agentbox binary against real directories,
# namespaces, sockets and users.
#
#   run.sh AGENTBOX PROBE
#
# Every case runs once per backend variant (bwrap; builtin; builtin-legacy,
# the built-in engine forced onto its mount(2) fallback) and identity: as
# root and as an unprivileged user (uid/gid 65534 through setpriv), so six
# passes. Cases learn the backend from $BACKEND (also exported as
# AGENTBOX_BACKEND, which agentbox reads as its default backend).  The scripts
# are copied into a fresh 0755 directory under /tmp first and the binaries
# into one under /var/tmp, so uid 65534 can run them even when the build
# directory is under /root (see the install below for why not /tmp).  The last line is "N passed, N failed" (plus
# ", N skipped" when something was skipped, always with a printed reason);
# the exit status is 1 if anything failed.
#
# Environment knobs for development:
#   AGENTBOX_IT_ONLY=ERE      run only the cases whose function name matches
#   AGENTBOX_IT_PASSES=LIST   comma-separated subset of "root,user"
#   AGENTBOX_IT_BACKENDS=LIST comma-separated subset of "bwrap,builtin,builtin-legacy"
#
# Internal: "run.sh --pass NAME" runs all cases as the current user.

set -u

UNPRIV_UID=65534
CASE_TIMEOUT=120
SAFE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ------------------------------------------------------------ one pass

run_pass() {
	local dir f fn
	dir=$(dirname "$(realpath "$0")")
	for f in "$dir"/t_*.sh; do
		for fn in $(grep -oE '^case_[A-Za-z0-9_]+' "$f"); do
			if [ -n "${AGENTBOX_IT_ONLY:-}" ] &&
				! grep -Eq -- "$AGENTBOX_IT_ONLY" <<<"$fn"; then
				continue
			fi
			timeout -k 5 "$CASE_TIMEOUT" \
				bash "$dir/lib.sh" --case "$(basename "$f")" "$fn"
			local rc=$?
			if [ $rc -ne 0 ]; then
				local n
				n=$(($(wc -l <"$RESULTS") + TAP_START + 1))
				echo "fail" >>"$RESULTS"
				echo "not ok $n - [$PASS] ${fn#case_}: case aborted"
				echo "    the case process exited with status $rc" \
					"(124/137: killed after ${CASE_TIMEOUT}s)"
			fi
		done
	done
}

if [ "${1:-}" = "--pass" ]; then
	run_pass
	exit 0
fi

# ------------------------------------------------------------ top level

if [ $# -ne 2 ]; then
	echo "usage: $0 AGENTBOX PROBE" >&2
	exit 2
fi

SRC_DIR=$(dirname "$(realpath "$0")")
AGENTBOX_SRC=$1
PROBE_SRC=$2
TOTAL_PASS=0
TOTAL_FAIL=0
TOTAL_SKIP=0
NUM=0

skip_line() {
	NUM=$((NUM + 1))
	TOTAL_SKIP=$((TOTAL_SKIP + 1))
	echo "ok $NUM - $1 # SKIP $2"
}

fail_line() {
	NUM=$((NUM + 1))
	TOTAL_FAIL=$((TOTAL_FAIL + 1))
	echo "not ok $NUM - $1"
	[ $# -gt 1 ] && printf '    %s\n' "${@:2}"
}

summary() {
	local s="$TOTAL_PASS passed, $TOTAL_FAIL failed"
	[ "$TOTAL_SKIP" -gt 0 ] && s+=", $TOTAL_SKIP skipped"
	echo "$s"
	[ "$TOTAL_FAIL" -eq 0 ]
	exit $?
}

for b in "$AGENTBOX_SRC" "$PROBE_SRC"; do
	if [ ! -x "$b" ]; then
		fail_line "binary $b exists and is executable"
		summary
	fi
done

SUITE=$(mktemp -d /tmp/agentbox-it.XXXXXX)
OUTSIDE_ROOT=$(mktemp -d /var/tmp/agentbox-it.XXXXXX)
cleanup() {
	rm -rf "$SUITE" "$OUTSIDE_ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
chmod 0755 "$SUITE" "$OUTSIDE_ROOT"
# The binaries go under /var/tmp, not /tmp: workspace-write makes all of
# /tmp writable inside the sandbox, and agentbox refuses to run from a
# place its sandbox could write (t_self.sh). No case's rules make this
# directory writable (the OUTSIDE dirs are pass-*/ siblings of it), so the
# cases run the way an installed agentbox runs; only full-access (all of
# / writable) reaches it, and is accepted with a warning there.
BIN=$OUTSIDE_ROOT/bin
mkdir -m 0755 "$BIN"
install -m 0755 "$AGENTBOX_SRC" "$BIN/agentbox"
install -m 0755 "$PROBE_SRC" "$BIN/probe"
# The seccomp helper of t_doctor.sh (built next to probe).
install -m 0755 "$(dirname "$PROBE_SRC")/deny_userns" "$BIN/deny_userns"
# One renameat2 call (t_pin.sh), next to probe as well.
install -m 0755 "$(dirname "$PROBE_SRC")/rename2" "$BIN/rename2"
# A program linking libagentbox for t_landlock.sh (built next to probe).
install -m 0755 "$(dirname "$PROBE_SRC")/ll_lib" "$BIN/ll_lib"
# xattr and fd-based metadata calls for t_landlock.sh's broker cases.
install -m 0755 "$(dirname "$PROBE_SRC")/meta" "$BIN/meta"
# An LD_PRELOAD library that aborts in the sandbox's setup (t_env.sh).
install -m 0644 "$(dirname "$PROBE_SRC")/preload_marker.so" "$BIN/preload_marker.so"
install -m 0644 "$SRC_DIR/run.sh" "$SRC_DIR/lib.sh" "$SRC_DIR"/t_*.sh "$SUITE/"

# prepare_pass NAME UID: directories owned by the pass user.
prepare_pass() {
	local pass_dir=$SUITE/pass-$1-$VARIANT out=$OUTSIDE_ROOT/pass-$1-$VARIANT
	mkdir -m 0755 "$pass_dir" "$pass_dir/home" "$pass_dir/tmp" "$out"
	: >"$pass_dir/results"
	chown -R "$2:$2" "$pass_dir" "$out"
}

# start_pass NAME CMD-PREFIX...: run the cases; counts go to the totals.
start_pass() {
	local name=$1 pass_dir=$SUITE/pass-$1-$VARIANT
	shift
	"$@" env -i PATH="$SAFE_PATH" HOME="$pass_dir/home" \
		TMPDIR="$pass_dir/tmp" LANG=C.UTF-8 TERM=dumb \
		AGENTBOX="$BIN/agentbox" PROBE="$BIN/probe" \
		PASS="$name/$VARIANT" PASS_DIR="$pass_dir" \
		BACKEND="$BACKEND" AGENTBOX_BACKEND="$BACKEND" \
		AGENTBOX_TEST_LEGACY_MOUNT="$LEGACY_MOUNT" \
		OUTSIDE_BASE="$OUTSIDE_ROOT/pass-$name-$VARIANT" \
		RESULTS="$pass_dir/results" TAP_START="$NUM" \
		AGENTBOX_IT_ONLY="${AGENTBOX_IT_ONLY:-}" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" LSAN_OPTIONS="${LSAN_OPTIONS:-}" \
		bash "$SUITE/run.sh" --pass
	local p f s
	p=$(grep -cx pass "$pass_dir/results")
	f=$(grep -cx fail "$pass_dir/results")
	s=$(grep -cx skip "$pass_dir/results")
	TOTAL_PASS=$((TOTAL_PASS + p))
	TOTAL_FAIL=$((TOTAL_FAIL + f))
	TOTAL_SKIP=$((TOTAL_SKIP + s))
	NUM=$((NUM + p + f + s))
}

want_pass() {
	[[ ",${AGENTBOX_IT_PASSES:-root,user}," == *",$1,"* ]]
}

want_backend() {
	[[ ",${AGENTBOX_IT_BACKENDS:-bwrap,builtin,builtin-legacy}," == *",$1,"* ]]
}

echo "# agentbox: $AGENTBOX_SRC"
echo "# suite dir: $SUITE"

# run_backend: the root and user passes with $BACKEND.
run_backend() {
	if [ "$(id -u)" -ne 0 ]; then
		# Without root there is neither a root pass nor a way to switch users:
		# run the cases once as whoever we are.
		skip_line "[root/$VARIANT] all cases" "not running as root (uid $(id -u))"
		skip_line "[user/$VARIANT] cases as uid $UNPRIV_UID" \
			"not running as root, cannot switch users; running as uid $(id -u)"
		prepare_pass user "$(id -u)"
		start_pass user
		return
	fi

	if want_pass root; then
		prepare_pass root 0
		start_pass root
	else
		skip_line "[root/$VARIANT] all cases" "AGENTBOX_IT_PASSES=${AGENTBOX_IT_PASSES:-} excludes root"
	fi

	if ! want_pass user; then
		skip_line "[user/$VARIANT] all cases" "AGENTBOX_IT_PASSES=${AGENTBOX_IT_PASSES:-} excludes user"
	else
		userns_reason=""
		if ! command -v setpriv >/dev/null; then
			userns_reason="setpriv is not installed"
		elif [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null)" = 0 ]; then
			userns_reason="user namespaces are disabled (user.max_user_namespaces=0)"
		elif [ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null)" = 0 ]; then
			userns_reason="unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0)"
		elif ! setpriv --reuid=$UNPRIV_UID --regid=$UNPRIV_UID --clear-groups -- \
			unshare --user true 2>/dev/null; then
			userns_reason="uid $UNPRIV_UID cannot create a user namespace on this host"
		fi
		if [ -n "$userns_reason" ]; then
			skip_line "[user/$VARIANT] all cases as uid $UNPRIV_UID" "$userns_reason"
		else
			prepare_pass user $UNPRIV_UID
			start_pass user setpriv --reuid=$UNPRIV_UID --regid=$UNPRIV_UID \
				--clear-groups --
		fi
	fi
}

# builtin-legacy: the built-in engine forced onto its mount(2) fallback
# (what kernels without open_tree/move_mount/mount_setattr get).
for VARIANT in bwrap builtin builtin-legacy; do
	BACKEND=${VARIANT%-legacy}
	LEGACY_MOUNT=$([ "$VARIANT" = builtin-legacy ] && echo 1 || echo 0)
	if want_backend "$VARIANT"; then
		run_backend
	else
		skip_line "[$VARIANT] all cases" "AGENTBOX_IT_BACKENDS=${AGENTBOX_IT_BACKENDS:-} excludes $VARIANT"
	fi
done

summary
