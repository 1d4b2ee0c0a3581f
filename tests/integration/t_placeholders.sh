# Placeholders for missing protected names, whose lifetime a flock holds
# (src/supervisor/placeholders.h): shared by every run of every user and state
# directory, never removed under a sandbox that still uses them, left by
# kill -9 only until the next run that needs them, and agentbox's state
# directories hidden from the sandbox.

# placeholders_pass: the cases that mix backends themselves run once per
# identity, in the builtin pass.
placeholders_pass() {
	[ "$BACKEND" = builtin ] && [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" != 1 ]
}

# is_placeholder PATH: PATH is an entry agentbox made (mode 01444).
is_placeholder() {
	[ "$(stat -c %a "$1" 2>/dev/null)" = 1444 ]
}

# no_marker_process MARKER: no process whose command line has MARKER.
no_marker_process() {
	local i
	for ((i = 0; i < 50; i++)); do
		pgrep -f "$1" >/dev/null || return 0
		sleep 0.1
	done
	return 1
}

case_placeholders_removed_after_agentbox_is_killed() {
	new_ws
	local before marker="ab-killed-$$-$RANDOM"
	before=$(snapshot "$WS")
	"$AGENTBOX" run --policy workspace-write -C "$WS" -- \
		sh -c "echo started; exec sleep 20 # $marker" >"$CASE_DIR/run.out" 2>"$CASE_DIR/run.err" </dev/null &
	local pid=$!
	bg_track "$pid"
	if ! wait_for_file "$CASE_DIR/run.out" started 100; then
		fail "the command started" "no 'started' within 10 s: $(cat "$CASE_DIR/run.err")"
		return
	fi
	expect "while running, the placeholder for .agentbox exists on the host" '[ -d "$WS/.agentbox" ]'
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	expect "no sandboxed process survives agentbox" 'no_marker_process "$marker"'
	# The kernel dropped the dead run's locks; the next run that needs the
	# same placeholders adopts them and removes them at its end.
	sbx --policy workspace-write -C "$WS" -- 'mkdir .agentbox 2>/dev/null && echo made; true'
	expect_exit "the next run works" 0
	expect_stdout_lacks "the next run cannot create .agentbox either" made
	expect "after it, the workspace is exactly as before" '[ "$(snapshot "$WS")" = "$before" ]'
}

# The issue's reproduction: two overlapping runs with different state
# directories (XDG_RUNTIME_DIR set differently). The first to end must not
# remove the placeholder the other sandbox is mounted on.
case_runs_with_different_state_dirs_keep_each_others_protection() {
	new_ws
	local before x1 x2 pid rc
	before=$(snapshot "$WS")
	x1=$(mktemp -d "$CASE_DIR/x1.XXXXXX")
	x2=$(mktemp -d "$CASE_DIR/x2.XXXXXX")
	chmod 0700 "$x1" "$x2"
	XDG_RUNTIME_DIR=$x2 timeout -s KILL "$AB_HANG_LIMIT" "$AGENTBOX" run --policy read-only --write "$WS" -C "$WS" -- \
		sh -c 'for i in $(seq 40); do mkdir -p .git/hooks 2>/dev/null && { echo planted; exit; }; sleep .1; done' \
		>"$CASE_DIR/long.out" 2>"$CASE_DIR/long.err" </dev/null &
	pid=$!
	bg_track "$pid"
	sleep 0.8
	XDG_RUNTIME_DIR=$x1 ab run --policy read-only --write "$WS" -C "$WS" -- /bin/true
	expect_exit "the short run with another state dir ends normally" 0
	wait "$pid"
	rc=$?
	expect "the long run's command ran to its end (status 0)" '[ "$rc" = 0 ]'
	expect "the long run never created .git/hooks" '! grep -q planted "$CASE_DIR/long.out"'
	expect_absent "no .git on the host" "$WS/.git"
	expect "the workspace is exactly as before" '[ "$(snapshot "$WS")" = "$before" ]'
}

# kill -9 of agentbox at 20 moments of its start-up, on every backend of
# this pass: nothing survives, and once the next run has been there,
# nothing is left in the workspace.
case_kill_during_startup_leaves_nothing_behind() {
	new_ws
	local before d marker="ab-startkill-$$-$RANDOM" pid
	before=$(snapshot "$WS")
	for d in 0 0.001 0.002 0.003 0.004 0.005 0.006 0.008 0.010 0.012 \
		0.015 0.018 0.021 0.025 0.030 0.035 0.040 0.050 0.070 0.100; do
		"$AGENTBOX" run --policy workspace-write -C "$WS" -- \
			sh -c "mkdir .git/x 2>/dev/null; exec sleep 30 # $marker" \
			>/dev/null 2>&1 </dev/null &
		pid=$!
		sleep "$d"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# (bwrap backend: bubblewrap's clone child arms --die-with-parent late;
	# the keeper and the inner stage's life pipe cover that window)
	expect "no sandboxed process survives any of the 20 kills" 'no_marker_process "$marker"'
	sbx --policy workspace-write -C "$WS" -- 'true'
	expect_exit "the next run works" 0
	expect "after it, the workspace is exactly as before" '[ "$(snapshot "$WS")" = "$before" ]'
}

# Every candidate state directory is hidden inside the sandbox, whichever
# one this run uses: the command can neither read nor forge what a later
# run (with or without XDG_RUNTIME_DIR) finds there. (A runtime dir that is
# neither this run's XDG_RUNTIME_DIR nor /run/user/UID cannot be known;
# nothing that isolates is taken from a state dir anyway.)
case_state_dirs_are_hidden_and_cannot_be_forged() {
	new_ws
	local x uid tmpdir
	uid=$(id -u)
	tmpdir=/tmp/agentbox-$uid
	x=$(mktemp -d "$CASE_DIR/xdg.XXXXXX")
	chmod 0700 "$x"
	mkdir -p "$x/agentbox"
	chmod 0700 "$x/agentbox"
	echo secret >"$x/agentbox/bwrap-probe-v1"
	XDG_RUNTIME_DIR=$x sbx --policy workspace-write -C "$WS" -- \
		"ls -A $tmpdir $x/agentbox 2>&1; cat $x/agentbox/bwrap-probe-v1 2>&1; \
		 touch $tmpdir/forged 2>/dev/null && echo forged-tmp; \
		 touch $x/agentbox/forged 2>/dev/null && echo forged-xdg; true"
	expect_exit "the run works" 0
	expect_stdout_lacks "the XDG state dir's contents are not readable" secret
	expect_stdout_lacks "nothing can be planted in the /tmp state dir" forged-tmp
	expect_stdout_lacks "nothing can be planted in the XDG state dir" forged-xdg
	expect_absent "no forged file in $tmpdir" "$tmpdir/forged"
	expect_absent "no forged file in the XDG state dir" "$x/agentbox/forged"
	# even where the policy makes the runtime dir itself writable
	XDG_RUNTIME_DIR=$x sbx --policy workspace-write --write "$x" -C "$WS" -- \
		"mkdir -p $x/agentbox 2>/dev/null; touch $x/agentbox/forged2 2>/dev/null && echo forged; true"
	expect_stdout_lacks "a writable XDG dir's agentbox state stays closed" forged
	expect_absent "no forged file there" "$x/agentbox/forged2"
}

# A sandbox that can read a leftover placeholder can hold an exclusive
# flock on it; a run that needs it then waits a bounded time and says why.
case_lock_held_from_inside_stalls_no_run() {
	new_ws
	local pid marker="ab-locker-$$-$RANDOM" t0 t1
	mkdir "$WS/.git"
	chmod 01444 "$WS/.git" # what a killed run leaves
	"$AGENTBOX" run --policy read-only -C "$WS" -- \
		sh -c "exec flock -x .git sh -c 'echo locked; exec sleep 30 # $marker'" \
		>"$CASE_DIR/lock.out" 2>"$CASE_DIR/lock.err" </dev/null &
	pid=$!
	bg_track "$pid"
	if ! wait_for_file "$CASE_DIR/lock.out" locked 100; then
		skip "lock held from inside" "flock(1) did not take the lock inside: $(cat "$CASE_DIR/lock.err")"
		kill -KILL "$pid" 2>/dev/null
		return
	fi
	t0=$(date +%s%N)
	sbx --policy workspace-write -C "$WS" -- 'true'
	t1=$(date +%s%N)
	expect_exit "the run that needs the placeholder is refused" 125
	expect_stderr_contains "the refusal names the placeholder" "$WS/.git"
	expect_stderr_contains "and says what holds it" "exclusive lock"
	expect "it waited a bounded time (under 10 s: $(((t1 - t0) / 1000000)) ms)" '[ $(((t1 - t0) / 1000000)) -lt 10000 ]'
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	expect "the locking sandbox is gone" 'no_marker_process "$marker"'
	sbx --policy workspace-write -C "$WS" -- 'true'
	expect_exit "once the holder is gone, runs go on" 0
	expect_absent "and the leftover is removed" "$WS/.git"
}

# Concurrency: 8 loops of runs at once, the backends mixed, on one
# workspace (and so on the /tmp placeholders every workspace-write run
# shares): no run fails, and nothing is left.
case_concurrent_loops_mixed_backends_never_fail() {
	placeholders_pass || return 0
	new_ws
	local runs=500 before loop pids=() fails=0 marker="ab-loops-$$-$RANDOM"
	# ASan slows every run several times; the loops keep their shape.
	grep -aq AddressSanitizer "$AGENTBOX" && runs=100
	before=$(snapshot "$WS")
	local backends=(builtin bwrap)
	[ -x /usr/bin/bwrap ] || backends=(builtin)
	for loop in 0 1 2 3 4 5 6 7; do
		(
			b=${backends[$((loop % ${#backends[@]}))]}
			f=0
			for ((i = 0; i < runs; i++)); do
				"$AGENTBOX" run --backend "$b" --policy workspace-write -C "$WS" -- \
					/bin/sh -c ": $marker" >/dev/null 2>>"$CASE_DIR/loop.$loop.err" </dev/null
				rc=$?
				if [ "$rc" != 0 ]; then
					f=$((f + 1))
					echo "($b: exit $rc)" >>"$CASE_DIR/loop.$loop.err"
				fi
			done
			echo "$f" >"$CASE_DIR/loop.$loop.fails"
		) &
		pids+=($!)
	done
	for loop in 0 1 2 3 4 5 6 7; do
		wait "${pids[$loop]}"
		fails=$((fails + $(cat "$CASE_DIR/loop.$loop.fails" 2>/dev/null || echo "$runs")))
	done
	LAST_CMD="8 loops x $runs: agentbox run --backend builtin|bwrap --policy workspace-write -C \$WS -- /bin/sh -c :"
	# what the failed runs said, for the report
	cat "$CASE_DIR"/loop.*.err 2>/dev/null | sort | uniq -c | sort -rn | head -n 10 >"$CASE_DIR/.err"
	ERR=$(cat "$CASE_DIR/.err")
	expect "no run of 8 x $runs failed ($fails did)" '[ "$fails" = 0 ]'
	expect "the workspace is exactly as before" '[ "$(snapshot "$WS")" = "$before" ]'
	# (only marked ones are ours: another program may have made these)
	expect "no .git placeholder left in /tmp" '! is_placeholder /tmp/.git'
	expect "no .agentbox placeholder left in /tmp" '! is_placeholder /tmp/.agentbox'
	expect "no process of the loops is left" 'no_marker_process "$marker"'
}

# Another run may remove the placeholder the plan saw and make a new one
# before this run mounts (the 1 failure in 4,000 the loops above once
# showed): the mount must cover the placeholder this run holds the lock
# on, not fail on the one the plan saw. Held deterministically: the old
# placeholder is locked exclusively while agentbox waits for it, replaced,
# and released.
case_placeholder_recycled_between_planning_and_mounting() {
	new_ws
	local pid i before
	mkdir "$WS/.agentbox"
	chmod 01444 "$WS/.agentbox"
	exec 8<"$WS/.agentbox"
	flock -x 8
	"$AGENTBOX" run --policy workspace-write -C "$WS" -- \
		sh -c 'mkdir .agentbox/x 2>/dev/null && echo made; echo ran' \
		</dev/null >"$CASE_DIR/.out" 2>"$CASE_DIR/.err" 8<&- &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		[[ "$(cat "/proc/$pid/wchan" 2>/dev/null)" == *nanosleep* ]] && break
		sleep 0.01
	done
	rmdir "$WS/.agentbox"
	mkdir "$WS/.agentbox"
	chmod 01444 "$WS/.agentbox"
	exec 8<&-
	wait "$pid"
	RC=$?
	LAST_CMD="agentbox run --policy workspace-write -C \$WS -- sh -c 'mkdir .agentbox/x; echo ran' (placeholder replaced while it waited)"
	OUT=$(cat "$CASE_DIR/.out")
	ERR=$(cat "$CASE_DIR/.err")
	expect_exit "the run is not refused" 0
	expect_stdout_contains "the command ran" ran
	expect_stdout_lacks "and .agentbox was still covered" made
	expect_absent "the new placeholder is removed afterwards" "$WS/.agentbox"
}

# A placeholder that another run removes while this one is planning (it
# was there for lstat, gone for the emptiness check, or gone between open
# and getdents) is a path to block, never a directory to bind read-only:
# a bind would hold the old inode's identity, and the start would be
# refused. 300 plans against a placeholder that comes and goes.
case_placeholder_vanishing_while_planning_is_blocked() {
	placeholders_pass || return 0
	new_ws
	local i binds=0 churn
	(
		for ((i = 0; i < 100000; i++)); do
			mkdir -m 01444 "$WS/.agentbox" 2>/dev/null
			rmdir "$WS/.agentbox" 2>/dev/null
			[ -e "$CASE_DIR/stop" ] && break
		done
	) &
	churn=$!
	for ((i = 0; i < 300; i++)); do
		"$AGENTBOX" explain --json --policy workspace-write -C "$WS" 2>/dev/null |
			grep -q "\"op\":\"bind-read-only\",\"path\":\"$WS/.agentbox\"" && binds=$((binds + 1))
	done
	: >"$CASE_DIR/stop"
	wait "$churn"
	rmdir "$WS/.agentbox" 2>/dev/null
	LAST_CMD="300 x agentbox explain --json --policy workspace-write -C \$WS (while .agentbox comes and goes)"
	expect "no plan binds the vanishing placeholder read-only ($binds of 300 did)" '[ "$binds" = 0 ]'
}
