# Nothing is left behind on the host when a run ends abnormally: killed by
# its timeout or stopped by SIGTERM. (agentbox itself killed with SIGKILL:
# t_placeholders.sh.)

# wait_gone PATH TENTHS: poll until PATH no longer exists.
wait_gone() {
	local i
	for ((i = 0; i < $2; i++)); do
		[ ! -e "$1" ] && [ ! -L "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# start_blocked_run: a run that needs placeholders (.git and .agentbox are
# missing) and prints "started" once the command is running.
start_blocked_run() {
	"$AGENTBOX" run --policy workspace-write -C "$WS" "$@" -- \
		sh -c 'echo started; sleep 20' >"$CASE_DIR/run.out" 2>"$CASE_DIR/run.err" </dev/null &
	RUN_PID=$!
	bg_track "$RUN_PID"
	wait_for_file "$CASE_DIR/run.out" started 100
}

case_placeholders_removed_after_timeout() {
	new_ws
	local before
	before=$(snapshot "$WS")
	sbx --policy workspace-write --timeout 0.5 -C "$WS" -- 'sleep 20'
	expect_exit "timed-out run exits 124" 124
	expect "workspace on host is exactly as before" '[ "$(snapshot "$WS")" = "$before" ]'
}

case_placeholders_removed_after_sigterm() {
	new_ws
	local before rc
	before=$(snapshot "$WS")
	if ! start_blocked_run; then
		fail "the command started" "no 'started' within 10 s"
		return
	fi
	expect "while running, the placeholder for .agentbox exists on the host" '[ -d "$WS/.agentbox" ]'
	kill -TERM "$RUN_PID"
	wait "$RUN_PID"
	rc=$?
	expect "agentbox exits 128+SIGTERM" '[ "$rc" = 143 ]'
	expect "workspace on host is exactly as before" '[ "$(snapshot "$WS")" = "$before" ]'
}

case_pre_existing_empty_protected_dirs_are_kept() {
	new_ws
	mkdir "$WS/.agentbox"
	: >"$WS/.git"
	local before
	before=$(snapshot "$WS")
	sbx --policy workspace-write -C "$WS" -- 'touch .agentbox/x; echo y > .git'
	expect_nonzero "writes into the empty protected paths fail"
	expect "the user's empty .agentbox dir and .git file are still there, unchanged" \
		'[ "$(snapshot "$WS")" = "$before" ]'
}
