# The Landlock backend has no PID namespace: nothing of a run may outlive
# it, also a process that leaves the command's process group (setsid,
# setpgid) and then keeps re-growing. Two modes (src/backend/landlock/
# cgroup.h): a cgroup of the run's own, ended with cgroup.kill, where the
# caller's cgroup v2 is delegated (root here); else the process group,
# which the filter keeps the command from leaving (uid 65534 here, and
# root with AGENTBOX_TEST_NO_CGROUP=1, a knob for these tests only). As
# root the cgroup mode is also tried as uid 65534, in a cgroup delegated
# to it for the case.

# The escapee: leaves the group (setsid or setpgid(0, 0)), records whether
# it could, then re-grows: each generation forks the next and exits, so
# its pid keeps changing. Bounded, so that a failure cannot run for long.
LL_ESC_PY='
import errno, os, sys, time
how, mark, out = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    if how == "setsid":
        os.setsid()
    else:
        os.setpgid(0, 0)
    res = "left"
except OSError as e:
    res = "refused " + errno.errorcode.get(e.errno, str(e.errno))
with open(out + ".how", "w") as f:
    f.write(res)
for gen in range(30000):
    if os.fork() > 0:
        os._exit(0)
    if gen % 5 == 0:
        with open(out + ".tmp", "w") as f:
            f.write(str(gen))
        os.replace(out + ".tmp", out + ".gen")
    time.sleep(0.002)
'

# The processes of one round, by their marker.
esc_alive() {
	pgrep -f "^python3 sub/esc\.py [a-z]+ $1 " >/dev/null || pgrep -f "^sleep 303\.$1\$" >/dev/null
}

# Leftover cgroups of runs that are gone in CGBASE (empty when none).
esc_stale_cgroups() {
	[ -n "${CGBASE:-}" ] || return 0
	local d p
	for d in "$CGBASE"/agentbox-*; do
		[ -d "$d" ] || continue
		p=${d##*/agentbox-}
		p=${p%%-*}
		[ -d "/proc/$p" ] || echo "$d"
	done
}

# esc_round WHAT HOW EXPECT_HOW WS LAUNCH...: the escapee (HOW: setsid or
# setpgid) under agentbox run in WS, launched by LAUNCH (env and user
# wrappers); first ending normally, then with kill -9 of agentbox.
esc_round() {
	local what=$1 how=$2 want=$3 ws=$4 i
	shift 4
	local mark=$$0$RANDOM
	rm -f "$ws/sub/r".*
	# normal end: the command waits for 20 generations, then exits 0
	abx "$@" "$AGENTBOX" run -q --backend landlock --policy workspace-write -C "$ws" -- sh -c \
		"python3 sub/esc.py $how $mark sub/r & i=0; while [ \$i -lt 400 ]; do g=\$(cat sub/r.gen 2>/dev/null); [ -n \"\$g\" ] && [ \"\$g\" -ge 20 ] && exit 0; sleep 0.05; i=\$((i+1)); done; exit 1"
	expect_exit "$what, $how: the escapee re-grew 20 generations while the command ran" 0
	expect "$what, $how: it ${want%% *} the process group" '[[ "$(cat "$ws/sub/r.how" 2>/dev/null)" == "$want"* ]]'
	expect "$what, $how: nothing of it survives the command's end" '! esc_alive "$mark"'

	# kill -9 of agentbox while it re-grows
	rm -f "$ws/sub/r".*
	mark=$$1$RANDOM
	"$@" "$AGENTBOX" run -q --backend landlock --policy workspace-write -C "$ws" -- sh -c \
		"python3 sub/esc.py $how $mark sub/r & exec sleep 303.$mark" </dev/null >/dev/null 2>"$CASE_DIR/kill.err" &
	local ab_pid=$!
	bg_track "$ab_pid"
	for ((i = 0; i < 400; i++)); do
		[ "$(cat "$ws/sub/r.gen" 2>/dev/null || echo 0)" -ge 20 ] && break
		sleep 0.05
	done
	expect "$what, $how: the escapee re-grows before the kill" '[ "$(cat "$ws/sub/r.gen" 2>/dev/null || echo 0)" -ge 20 ] || { cat "$CASE_DIR/kill.err"; false; }'
	kill -9 "$ab_pid"
	wait "$ab_pid" 2>/dev/null
	# the reaper needs a moment after agentbox's death; up to 10 s
	for ((i = 0; i < 100; i++)); do
		esc_alive "$mark" || break
		sleep 0.1
	done
	expect "$what, $how: after kill -9 of agentbox nothing of it is left" '! esc_alive "$mark"'
	for ((i = 0; i < 50; i++)); do
		[ -z "$(esc_stale_cgroups)" ] && break
		sleep 0.1
	done
	expect "$what, $how: no cgroup of the runs is left" '[ -z "$(esc_stale_cgroups)" ]'
}

esc_ws() {
	mkdir -p "$1/sub"
	printf '%s' "$LL_ESC_PY" >"$1/sub/esc.py"
}

# CGBASE: where this user's runs make their cgroups (from explain), or
# empty with CG_WHY saying why there is none.
esc_cgbase() {
	ab explain --backend landlock -C "$1"
	local line
	line=$(grep -m1 "^processes: in a cgroup of the run's own (" <<<"$OUT")
	CGBASE=
	CG_WHY=$(grep -m1 "no cgroup of the run's own:" <<<"$OUT" | sed 's/^ *//')
	if [ -n "$line" ]; then
		line=${line#*own (}
		CGBASE=$(dirname "${line%%, one per run*}")
	fi
}

case_landlock_escapees_end_with_the_run() {
	landlock_case "setsid/setpgid escapees" || return 0
	if [ ! -x /usr/bin/python3 ]; then
		skip "setsid/setpgid escapees" "/usr/bin/python3 is missing"
		return
	fi
	new_ws
	esc_ws "$WS"
	esc_cgbase "$WS"
	local how
	if [ -n "$CGBASE" ]; then
		abx sh -c '"$1" run -q --backend landlock -C "$2" --events-fd 3 -- true 3>"$3"' \
			sh "$AGENTBOX" "$WS" "$CASE_DIR/ev.json"
		expect "cgroup mode: the start event says so" \
			'grep -q "\"processes\":{\"ended_by\":\"cgroup\"" "$CASE_DIR/ev.json"'
		for how in setsid setpgid; do
			esc_round "cgroup" "$how" "left" "$WS" env
		done
	else
		skip "cgroup mode" "${CG_WHY:-no delegated cgroup v2}"
	fi
	abx env AGENTBOX_TEST_NO_CGROUP=1 sh -c '"$1" run -q --backend landlock -C "$2" --events-fd 3 -- true 3>"$3"' \
		sh "$AGENTBOX" "$WS" "$CASE_DIR/ev.json"
	expect "process group mode: the start event says so, and why" \
		'grep -q "\"processes\":{\"ended_by\":\"process_group\",\"setsid_refused\":true,\"why_no_cgroup\":\"" "$CASE_DIR/ev.json"'
	ab explain --backend landlock -C "$WS"
	[ -n "$CGBASE" ] || expect_stdout_contains "explain says what holds and what it costs" \
		"setsid and setpgid into another group are refused (EPERM)"
	for how in setsid setpgid; do
		esc_round "process group" "$how" "refused EPERM" "$WS" env AGENTBOX_TEST_NO_CGROUP=1
	done
}

# As root: uid 65534 in a cgroup delegated to it (the way systemd delegates
# one to a user) gets the cgroup mode too.
case_landlock_escapees_delegated_cgroup_unprivileged() {
	landlock_case "escapees in a delegated cgroup" || return 0
	if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null || [ ! -x /usr/bin/python3 ]; then
		skip "escapees in a delegated cgroup" "needs root to delegate a cgroup, setpriv and python3"
		return
	fi
	new_ws
	esc_cgbase "$WS"
	if [ -z "$CGBASE" ]; then
		skip "escapees in a delegated cgroup" "${CG_WHY:-no cgroup v2 here}"
		return
	fi
	local deleg=$CGBASE/agentbox-it-deleg-$$
	mkdir "$deleg" && chown 65534:65534 "$deleg" "$deleg/cgroup.procs" "$deleg/cgroup.threads" \
		"$deleg/cgroup.subtree_control"
	local ws
	ws=$(mktemp -d "$OUTSIDE_BASE/deleg.XXXXXX")
	esc_ws "$ws"
	chown -R 65534:65534 "$ws"
	local launch=(env TMPDIR=/tmp sh -c 'echo $$ >"$0/cgroup.procs" && exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"' "$deleg")
	abx "${launch[@]}" "$AGENTBOX" explain --backend landlock -C "$ws"
	expect_stdout_contains "uid 65534 in its delegated cgroup gets the cgroup mode" \
		"processes: in a cgroup of the run's own ($deleg/agentbox-"
	local how
	CGBASE=$deleg
	for how in setsid setpgid; do
		esc_round "uid 65534, delegated cgroup" "$how" "left" "$ws" "${launch[@]}"
	done
	rmdir "$deleg" 2>/dev/null
	expect "the delegated cgroup is empty and removed afterwards" '[ ! -d "$deleg" ]'
	rm -rf "$ws"
}

# The empty cgroup an earlier run left behind (its agentbox and its reaper
# killed together) is removed by the next run; one with processes in it
# is left alone, since rmdir refuses it.
case_landlock_stale_cgroup_removed_by_next_run() {
	landlock_case "stale cgroups of dead runs" || return 0
	new_ws
	esc_cgbase "$WS"
	if [ -z "$CGBASE" ]; then
		skip "stale cgroups of dead runs" "${CG_WHY:-no delegated cgroup v2}"
		return
	fi
	# a pid that is surely gone: a child that has been reaped
	sh -c 'exit 0' &
	local dead=$!
	wait "$dead"
	local stale="$CGBASE/agentbox-$dead-77"
	mkdir "$stale" 2>/dev/null || { skip "stale cgroups of dead runs" "cannot make $stale"; return; }
	ab run -q --backend landlock -C "$WS" -- true
	expect_exit "the next run works" 0
	expect_absent "the stale empty cgroup is gone" "$stale"
	[ -d "$stale" ] && rmdir "$stale"
}
