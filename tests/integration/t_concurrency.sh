# Several runs at once on one workspace: protection of missing names holds
# for each of them and nothing is left behind when they all end.

case_concurrent_runs_same_workspace() {
	new_ws
	echo x >"$WS/f"
	local before i pids=() rcs=()
	before=$(snapshot "$WS")
	for i in 1 2 3 4; do
		timeout -s KILL "$AB_HANG_LIMIT" "$AGENTBOX" run --policy workspace-write -C "$WS" -- \
			sh -c 'sleep 0.3; mkdir .agentbox && echo made; mkdir .git && echo made-git; exit 9' \
			>"$CASE_DIR/out.$i" 2>"$CASE_DIR/err.$i" </dev/null &
		pids+=($!)
	done
	for i in 0 1 2 3; do
		wait "${pids[$i]}"
		rcs+=($?)
	done
	LAST_CMD="4 x agentbox run --policy workspace-write -C \$WS -- sh -c 'sleep 0.3; mkdir .agentbox; mkdir .git; exit 9'"
	RC="${rcs[*]}"
	cat "$CASE_DIR"/out.? >"$CASE_DIR/.out"
	cat "$CASE_DIR"/err.? >"$CASE_DIR/.err"
	OUT=$(cat "$CASE_DIR/.out")
	expect "all four runs ran the command to its end (status 9 each)" '[ "$RC" = "9 9 9 9" ]'
	expect_stdout_lacks "no run could mkdir .agentbox or .git" made
	expect "workspace on host is exactly as before" '[ "$(snapshot "$WS")" = "$before" ]'
	expect_absent "no .agentbox left" "$WS/.agentbox"
	expect_absent "no .git left" "$WS/.git"

	# One more run after the others: the protection does not depend on them.
	sbx --policy workspace-write -C "$WS" -- 'mkdir .agentbox'
	expect_nonzero "a later run still cannot mkdir .agentbox"
	expect_absent "still no .agentbox" "$WS/.agentbox"
}

case_concurrent_runs_outlive_each_other() {
	# A short run ending while a long one still uses the same workspace must
	# not remove the long run's protection.
	new_ws
	local before long_pid rc
	before=$(snapshot "$WS")
	timeout -s KILL "$AB_HANG_LIMIT" "$AGENTBOX" run --policy workspace-write -C "$WS" -- \
		sh -c 'sleep 1; mkdir .agentbox && echo made-late' \
		>"$CASE_DIR/long.out" 2>"$CASE_DIR/long.err" </dev/null &
	long_pid=$!
	bg_track "$long_pid"
	sleep 0.2
	sbx --policy workspace-write -C "$WS" -- 'true'
	expect_exit "short run ends normally" 0
	wait "$long_pid"
	rc=$?
	LAST_CMD="agentbox run --policy workspace-write -C \$WS -- sh -c 'sleep 1; mkdir .agentbox'"
	RC=$rc
	cp "$CASE_DIR/long.out" "$CASE_DIR/.out"
	cp "$CASE_DIR/long.err" "$CASE_DIR/.err"
	OUT=$(cat "$CASE_DIR/.out")
	expect_stdout_lacks "long run still cannot mkdir .agentbox after the short run ended" made-late
	expect "long run: mkdir failed (status 1)" '[ "$RC" = 1 ]'
	expect "workspace on host is exactly as before" '[ "$(snapshot "$WS")" = "$before" ]'
}
