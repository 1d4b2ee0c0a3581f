# Process life: exit statuses, timeouts, signal forwarding, environment,
# privileges, file descriptors and sessions.

case_exit_codes() {
	expect_exit "true -> 0" 0 -- run -- true
	expect_exit "exit 7 -> 7" 7 -- run -- sh -c 'exit 7'
	expect_exit "kill -9 \$\$ -> 137" 137 -- run -- sh -c 'kill -9 $$'
	expect_exit "kill -TERM \$\$ -> 143" 143 -- run -- sh -c 'kill -TERM $$'
	new_ws
	printf '#!/bin/sh\necho hi\n' >"$WS/noexec.sh"
	chmod 0644 "$WS/noexec.sh"
	expect_exit "non-executable file -> 126" 126 -- run -C "$WS" -- ./noexec.sh
	expect_exit "directory as command -> 126" 126 -- run -- /tmp
	expect_exit "missing absolute path -> 127" 127 -- run -- /nonexistent/agentbox-cmd
	expect_exit "missing command on PATH -> 127" 127 -- run -- agentbox-no-such-command
	ab run --no-such-option -- true
	expect_exit "agentbox failure -> 125" 125
	expect_stderr_matches "agentbox failure: message starts with agentbox:" "^agentbox:"
	sbx -- 'echo out; echo err >&2; exit 0'
	expect_stdout_eq "stdout passes through" out
	expect_stderr_contains "stderr passes through" err
}

case_timeout_kills_process_tree() {
	# A distinctive sleep argument identifies our processes on the host.  It
	# is short enough that a run which ignores --timeout ends within the
	# hang limit below instead of stalling the suite.
	local tok="8.$$$RANDOM" start end i left
	start=$(date +%s%N)
	AB_HANG_LIMIT=12 ab run --timeout 1 -- \
		sh -c "sleep $tok & (setsid sleep $tok &); sleep $tok; echo not-reached"
	end=$(date +%s%N)
	expect_exit "--timeout 1 on a long command -> 124" 124
	expect "timeout fires within 5 s (took $(((end - start) / 1000000)) ms)" \
		'[ $(((end - start) / 1000000)) -lt 5000 ]'
	expect_stdout_lacks "the command did not finish" not-reached
	left=""
	for ((i = 0; i < 20; i++)); do
		left=$(pgrep -u "$(id -u)" -f -x "sleep $tok")
		[ -z "$left" ] && break
		sleep 0.1
	done
	expect "background and setsid grandchildren are gone" '[ -z "$left" ]'
	[ -n "$left" ] && kill $left 2>/dev/null

	expect_exit "--timeout 2 on a quick command keeps its status" 5 -- \
		run --timeout 2 -- sh -c 'exit 5'
}

# signal_case SIG: agentbox in the background, the command traps SIG.
signal_case() {
	local sig=$1 f=$CASE_DIR/sig.$1 pid i rc
	LAST_CMD="agentbox run -- sh -c 'trap ... $sig; ...' (then kill -$sig agentbox)"
	# Background jobs of a script start with SIGINT/SIGQUIT ignored; restore
	# the defaults so the test sees agentbox's own forwarding.
	env --default-signal=INT,QUIT "$AGENTBOX" run -- sh -c \
		"trap 'echo trapped-$sig; exit 3' $sig; echo ready; while :; do sleep 0.1; done" \
		>"$f" 2>"$CASE_DIR/.err" </dev/null &
	pid=$!
	bg_track "$pid"
	if ! wait_for_file "$f" ready 100; then
		cp "$f" "$CASE_DIR/.out"
		fail "SIG$sig: command did not start within 10 s"
		return
	fi
	kill -"$sig" "$pid"
	for ((i = 0; i < 30; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		cp "$f" "$CASE_DIR/.out"
		RC=killed
		fail "SIG$sig forwarded: agentbox still running 3 s after SIG$sig"
		return
	fi
	wait "$pid"
	RC=$?
	cp "$f" "$CASE_DIR/.out"
	OUT=$(cat "$f")
	ERR=$(cat "$CASE_DIR/.err")
	expect_exit "SIG$sig forwarded: agentbox exits with the trap's status 3" 3
	expect_stdout_contains "SIG$sig forwarded: the command's trap ran" "trapped-$sig"
}

case_signals_forwarded() {
	signal_case TERM
	signal_case HUP
	signal_case INT
	signal_case QUIT
}

case_environment_inside() {
	sbx -- 'echo "S=$AGENTBOX_SANDBOX N=$AGENTBOX_NETWORK"'
	expect_stdout_eq "default: AGENTBOX_SANDBOX=1 AGENTBOX_NETWORK=none" "S=1 N=none"
	sbx --net full -- 'echo "S=$AGENTBOX_SANDBOX N=$AGENTBOX_NETWORK"'
	expect_stdout_eq "--net full: AGENTBOX_NETWORK=full" "S=1 N=full"
	AB_STDIN=/dev/null sbx -- 'echo "$HOME"'
	expect_stdout_eq "HOME passes through" "$HOME"
}

case_privileges_inside() {
	ab run -- cat /proc/self/status
	expect_exit "cat /proc/self/status exits 0" 0
	expect "NoNewPrivs: 1" 'grep -Eq "^NoNewPrivs:[[:space:]]+1$" <<<"$OUT"'
	expect "Seccomp: 2" 'grep -Eq "^Seccomp:[[:space:]]+2$" <<<"$OUT"'
	expect "CapEff is 0" 'grep -Eq "^CapEff:[[:space:]]+0+$" <<<"$OUT"'
	expect "CapPrm is 0" 'grep -Eq "^CapPrm:[[:space:]]+0+$" <<<"$OUT"'
	expect "CapAmb is 0" 'grep -Eq "^CapAmb:[[:space:]]+0+$" <<<"$OUT"'
	sbx -- 'id -u; id -g'
	expect_stdout_eq "uid and gid unchanged" "$(id -u; id -g)"
}

case_inherited_fds_closed() {
	abx bash -c 'exec 7</etc/hostname 9>/dev/null; exec "$0" run -- ls /proc/self/fd' "$AGENTBOX"
	expect_exit "ls /proc/self/fd exits 0" 0
	expect "fds 7 and 9 left open by the caller are closed inside" \
		'! grep -Eqx "7|9" <<<"$OUT"'
	expect "only 0 1 2 and the one ls opens are open" \
		'[ "$(tr "\n" " " <<<"$OUT")" = "0 1 2 3 " ]'
}

case_new_session_without_tty() {
	if ! command -v script >/dev/null; then
		skip "no controlling tty inside" "script(1) is not installed"
		return
	fi
	cat >"$CASE_DIR/inner.sh" <<-'EOF'
	if sh -c ': </dev/tty' 2>/dev/null; then echo tty-open; else echo no-tty; fi
	echo "sid=$(ps -o sid= -p $$ | tr -d ' ')"
	EOF
	abx script -qec "/bin/sh $CASE_DIR/inner.sh" /dev/null
	if [[ "$OUT" != *tty-open* ]]; then
		skip "no controlling tty inside" "script(1) gave no usable controlling tty here"
		return
	fi
	abx script -qec "$AGENTBOX run -- /bin/sh $CASE_DIR/inner.sh" /dev/null
	OUT=$(tr -d '\r' <<<"$OUT")
	expect_stdout_contains "the command cannot open the caller's tty (new session)" no-tty
	expect "the command's session leader is inside the sandbox (sid != 0)" \
		'grep -Eq "^sid=[1-9][0-9]*$" <<<"$OUT"'
}

case_root_gets_no_power() {
	local host_name
	host_name=$(cat /proc/sys/kernel/hostname)
	local pol
	for pol in read-only full-access; do
		sbx --policy "$pol" -- 'cat /proc/sys/kernel/hostname > /proc/sys/kernel/hostname'
		expect_nonzero "$pol: writing /proc/sys/kernel/hostname fails"
		sbx --policy "$pol" -- 'mount -o remount,rw /'
		expect_nonzero "$pol: mount -o remount,rw / fails"
		sbx --policy "$pol" -- 'mount -t tmpfs none /mnt'
		expect_nonzero "$pol: mounting a tmpfs fails"
		# Writes back the current value, so even a failing check changes nothing.
		local knob=/sys/kernel/mm/transparent_hugepage/enabled thp
		thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$knob" 2>/dev/null)
		if [ -z "$thp" ]; then
			skip "$pol: writing a /sys knob fails" "$knob is missing on this host"
		elif [ ! -w "$knob" ]; then
			skip "$pol: writing a /sys knob fails" "the host already denies $knob to uid $(id -u)"
		else
			sbx --policy "$pol" -- "echo $thp > $knob"
			expect_nonzero "$pol: writing a /sys knob ($knob) fails"
		fi
	done
	expect "host hostname unchanged" '[ "$(cat /proc/sys/kernel/hostname)" = "$host_name" ]'
}

case_no_proc_option() {
	expect_exit "--no-proc: the command still runs" 0 -- run --no-proc -- true
}

# AGENTBOX_PHASES=1 (bench/phases.sh): agentbox's phase marks on stderr,
# from the CLI and from inside the sandbox, with the command's own output
# and status unchanged; not a line of them without the variable.
case_phase_marks() {
	AGENTBOX_PHASES=1 ab run -- sh -c 'echo out; exit 3'
	expect_exit "status kept with phase marks" 3
	expect_stdout_eq "stdout kept with phase marks" out
	expect_stderr_matches "a mark from main" "^agentbox-phase [0-9]+ [0-9]+ main$"
	expect_stderr_matches "a mark from inside the sandbox" \
		"^agentbox-phase [0-9]+ [0-9]+ inner: command exited$"
	expect_stderr_matches "the last mark" "^agentbox-phase [0-9]+ [0-9]+ cli done$"
	ab run -- sh -c 'echo out; exit 3'
	expect_exit "status without phase marks" 3
	expect "no marks without AGENTBOX_PHASES" '[[ "$ERR" != *agentbox-phase* ]]'
}
