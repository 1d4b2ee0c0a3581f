# Bad input is refused with status 125 and a message naming the problem;
# explain prints the plan without running anything.

# bad_input NAME NEEDLE AGENTBOX-ARGS...: the command (touch $WS/ran) must
# not run, status 125, stderr starts with "agentbox:" and contains NEEDLE.
bad_input() {
	local name=$1 needle=$2
	shift 2
	ab "$@"
	expect_exit "$name: exit 125" 125
	expect_stderr_matches "$name: message starts with agentbox:" "^agentbox:"
	expect_stderr_contains "$name: message names '$needle'" "$needle"
	expect_absent "$name: command did not run" "$WS/ran"
}

case_bad_input() {
	new_ws
	local pf=$CASE_DIR/p.json run=(-- touch "$WS/ran")
	bad_input "unknown option" --frobnicate run --frobnicate "${run[@]}"
	bad_input "bad --net value" sideways run --net sideways "${run[@]}"
	bad_input "bad --policy value" lax run --policy lax "${run[@]}"
	bad_input "bad --backend value" magic run --backend magic "${run[@]}"
	bad_input "missing --policy-file" "$CASE_DIR/nope.json" \
		run --policy-file "$CASE_DIR/nope.json" "${run[@]}"
	bad_input "missing -C dir" "$CASE_DIR/no-such-dir" \
		run -C "$CASE_DIR/no-such-dir" "${run[@]}"

	printf '{\n  "version": 1,,\n  "preset": "read-only"\n}\n' >"$pf"
	ab run --policy-file "$pf" "${run[@]}"
	expect_exit "policy syntax error: exit 125" 125
	expect_stderr_matches "policy syntax error: message names file:line:col" \
		"$pf:2:[0-9]+"
	expect_absent "policy syntax error: command did not run" "$WS/ran"

	printf '{"version": 1, "colour": "blue"}\n' >"$pf"
	bad_input "policy unknown key" colour run --policy-file "$pf" "${run[@]}"
	printf '{"version": 1, "filesystem": {"rel/dir": "read"}}\n' >"$pf"
	bad_input "policy relative path" rel/dir run --policy-file "$pf" "${run[@]}"
	printf '{"version": 1, "filesystem": {"/usr": "rwx"}}\n' >"$pf"
	bad_input "policy bad access word" rwx run --policy-file "$pf" "${run[@]}"
	printf '{"version": 1, "network": {"mode": "sometimes"}}\n' >"$pf"
	bad_input "policy bad network mode" sometimes run --policy-file "$pf" "${run[@]}"

	ab run --policy read-only --
	expect_exit "no command after --: exit 125" 125
	ab run --timeout soon "${run[@]}"
	expect_exit "bad --timeout value: exit 125" 125
	expect_stderr_contains "bad --timeout value: message names it" soon
	ab run --events-fd 42 "${run[@]}"
	expect_exit "--events-fd on a closed fd: exit 125" 125
	expect_absent "--events-fd on a closed fd: command did not run" "$WS/ran"
}

# The network flags of issue #5: bad combinations and patterns are refused
# before anything runs; good ones are accepted (the proxy itself is tested
# in t_netproxy.sh).
case_net_input() {
	new_ws
	local pf=$CASE_DIR/p.json run=(-- touch "$WS/ran")

	bad_input "--allow-domain with --net full" "--allow-domain: domain rules need network mode proxy" \
		run --net full --allow-domain example.com "${run[@]}"
	expect_stderr_contains "--allow-domain with --net full: names --net full" "set by --net full"
	bad_input "--deny-domain with --net none" "--deny-domain: domain rules need network mode proxy" \
		run --deny-domain example.com --net none "${run[@]}"
	expect_stderr_contains "--deny-domain with --net none: names --net none" "set by --net none"
	bad_input "invalid --allow-domain pattern" "--allow-domain: invalid domain pattern 'a*b.com'" \
		run --net proxy --allow-domain 'a*b.com' "${run[@]}"
	bad_input "invalid --deny-domain port" "--deny-domain: invalid domain pattern 'x.com:99999'" \
		run --deny-domain x.com:99999 "${run[@]}"
	bad_input "--deny-domain *" "--deny-domain: invalid deny pattern '*'" \
		run --deny-domain '*' "${run[@]}"
	bad_input "bare IPv6 pattern" "in brackets" run --allow-domain=2001:db8::1 "${run[@]}"

	printf '{"version": 1, "network": {"mode": "full"}}\n' >"$pf"
	bad_input "--allow-domain with a file's mode full" "set by policy file $pf" \
		run --policy-file "$pf" --allow-domain example.com "${run[@]}"
	printf '{"version": 1, "network": {"allow": ["example.com"]}}\n' >"$pf"
	bad_input "a file's domain rules with --net none" "policy file $pf: domain rules need network mode proxy" \
		run --policy-file "$pf" --net none "${run[@]}"
	printf '{"version": 1,\n "network": {"mode": "full", "allow": ["example.com"]}}\n' >"$pf"
	bad_input "policy allow with mode full" "$pf:2:30: \"network\".\"allow\" needs \"mode\": \"proxy\"" \
		run --policy-file "$pf" "${run[@]}"
	printf '{"version": 1,\n "network": {"deny": ["ok.com",\n   "b*d.com"]}}\n' >"$pf"
	bad_input "policy invalid pattern" "$pf:3:4: \"network\".\"deny\"[1]: invalid domain pattern 'b*d.com'" \
		run --policy-file "$pf" "${run[@]}"

	bad_input "--approvals-tty without proxy" "--approvals-tty needs --net proxy" \
		run --approvals-tty "${run[@]}"
	bad_input "--approvals-save with --net full" "--approvals-save needs --net proxy" \
		run --net full --approvals-save "$CASE_DIR/s.json" "${run[@]}"
	bad_input "--approvals-fd with --approvals-tty" "--approvals-fd and --approvals-tty cannot go together" \
		run --net proxy --approvals-fd 3 --approvals-tty "${run[@]}" 3<>/dev/null
	# fds 0-2 are the command's stdin, stdout and stderr: a channel there
	# would let the command answer its own questions or forge events
	local fd
	for fd in 0 1 2; do
		bad_input "--approvals-fd $fd refused" "--approvals-fd $fd: that is the sandboxed command's" \
			run --net proxy --approvals-fd "$fd" "${run[@]}"
		expect_stderr_contains "--approvals-fd $fd: says what to do" "3 or above"
		bad_input "--events-fd $fd refused" "--events-fd $fd: that is the sandboxed command's" \
			run --events-fd "$fd" "${run[@]}"
		bad_input "explain --events-fd $fd refused" "--events-fd $fd:" \
			explain --events-fd "$fd" "${run[@]}"
	done
	bad_input "--approvals-fd on a closed fd" "--approvals-fd 42: descriptor is not open" \
		run --net proxy --approvals-fd 42 "${run[@]}"
	bad_input "--approvals-fd not a number" "--approvals-fd: 'two'" \
		run --net proxy --approvals-fd two "${run[@]}"
	bad_input "--approval-timeout 0" "--approval-timeout: '0'" \
		run --net proxy --approval-timeout 0 "${run[@]}"
	bad_input "--approval-timeout above a day" "--approval-timeout: '86401'" \
		run --net proxy --approval-timeout 86401 "${run[@]}"
	bad_input "--approval-timeout not a number" "--approval-timeout: 'soon'" \
		run --net proxy --approval-timeout soon "${run[@]}"
	bad_input "--approvals-save empty" "--approvals-save: the file name is empty" \
		run --net proxy --approvals-save= "${run[@]}"
	bad_input "bad --net value lists proxy" "use none, full or proxy" run --net sideways "${run[@]}"

	local base=(explain --policy workspace-write -C "$WS")
	ab "${base[@]}" --net proxy --allow-domain x.com -- true
	expect_exit "explain --net proxy --allow-domain: exit 0" 0
	expect_stdout_contains "explain --net proxy --allow-domain: prints a plan" "$WS"
	expect "explain --net proxy --allow-domain: no error" '! grep -qi "error" <<<"$ERR"'
	ab "${base[@]}" --allow-domain '**.example.com:443' --deny-domain '[2001:db8::1]' -- true
	expect_exit "explain with domain rules and no --net: exit 0" 0
	expect "explain with domain rules and no --net: no error" '! grep -qi "error" <<<"$ERR"'
	# the policy and save files outside every writable root (issue #14:
	# one the run could write is refused); the save file relative to the
	# directory agentbox starts in
	new_outside
	printf '{"version": 1, "preset": "workspace-write", "network": {"allow": ["example.com"]}}\n' >"$OUTSIDE/p.json"
	pushd "$OUTSIDE" >/dev/null || return
	ab explain --policy-file p.json -C "$WS" --deny-domain bad.example.com \
		--approvals-fd 3 --approval-timeout 2.5 --approvals-save rel.json -- true 3<>/dev/null
	popd >/dev/null || return
	expect_exit "explain with a file's rules, flags and approvals: exit 0" 0
	expect "explain with a file's rules, flags and approvals: no error" '! grep -qi "error" <<<"$ERR"'
	expect_stdout_contains "explain: the relative save file is taken from where agentbox started" \
		"$OUTSIDE/rel.json"
	ab "${base[@]}" --net none --net proxy --approvals-tty -- true
	expect_exit "explain: two different --net values are refused (the last one does not win)" 125
	expect_absent "explain did not run anything" "$WS/ran"
}

case_explain() {
	new_ws
	mkdir "$WS/private"
	ab explain --policy workspace-write -C "$WS" --deny "$WS/private" -- touch "$WS/ran"
	expect_exit "explain exits 0" 0
	expect_stdout_contains "explain lists the workspace" "$WS"
	expect "explain shows the workspace as write" \
		'grep -E "$WS([[:space:]]|$)" <<<"$OUT" | grep -qw write'
	expect "explain shows the denied dir as none" \
		'grep "$WS/private" <<<"$OUT" | grep -qw none'
	if [ "$BACKEND" = bwrap ]; then
		expect_stdout_contains "explain prints the bwrap command line" "bwrap --new-session"
	else
		expect_stdout_contains "explain names the built-in engine" "backend: builtin"
	fi
	expect_absent "explain does not run the command" "$WS/ran"
	# /proc and its knobs are plan operations, after every bind
	expect "explain lists the operations in order, /proc after the binds" \
		'grep -A100 "operations, in order:" <<<"$OUT" | grep -E "^ +[0-9]+\. " | tail -n 8 | head -n 1 | grep -qE "proc +/proc$"'
	expect "explain lists /proc's read-only knobs" \
		'grep -qE "proc-knob-read-only +/proc/sys$" <<<"$OUT"'

	ab explain --json --policy workspace-write -C "$WS" --deny "$WS/private"
	expect_exit "explain --json exits 0" 0
	if command -v jq >/dev/null; then
		expect "explain --json prints one JSON object" 'jq -e "type == \"object\"" <<<"$OUT" >/dev/null'
		expect "explain --json mentions the denied dir" 'jq -c . <<<"$OUT" | grep -q "$WS/private"'
	else
		skip "explain --json is JSON" "jq is not installed"
	fi
}

case_backend_option() {
	expect_exit "--backend bwrap runs" 0 -- run --backend bwrap -- true
	expect_exit "--backend builtin runs" 0 -- run --backend builtin -- true
	expect_exit "--backend auto runs" 0 -- run --backend auto -- true
	ab run --backend nosuch -- true
	expect_exit "an unknown backend is an error" 125
	expect_stderr_contains "the error lists the backends" "use auto, builtin, bwrap or landlock"
	abx env AGENTBOX_BACKEND=nosuch "$AGENTBOX" run -- true
	expect_exit "an unknown AGENTBOX_BACKEND is an error" 125
	expect_stderr_contains "the error names the variable" "AGENTBOX_BACKEND='nosuch'"
	ab run -q --write /nonexistent/agentbox-q -- true
	expect_exit "-q: run with a missing root still works" 0
}

# A backend chosen by AGENTBOX_BACKEND is said on stderr (even with -q:
# AGENTBOX_BACKEND=landlock would otherwise silently pick the weakest
# backend), in the start event and in explain; --backend overrides it and
# then nothing is said.
case_env_backend_announced() {
	local b
	for b in builtin bwrap; do
		abx env AGENTBOX_BACKEND=$b "$AGENTBOX" run -q --events-fd 3 -- true 3>"$CASE_DIR/ev.$b"
		expect_exit "AGENTBOX_BACKEND=$b runs" 0
		expect_stderr_contains "AGENTBOX_BACKEND=$b: stderr names the variable and the backend, even with -q" \
			"agentbox: backend $b chosen by the environment variable AGENTBOX_BACKEND"
		expect "AGENTBOX_BACKEND=$b: the start event names the variable" \
			"grep -q '\"backend\":\"$b\",\"backend_reason\":\"requested by the environment variable AGENTBOX_BACKEND\"' '$CASE_DIR/ev.$b'"
		abx env AGENTBOX_BACKEND=$b "$AGENTBOX" explain
		expect_stderr_contains "AGENTBOX_BACKEND=$b: explain says it on stderr" \
			"agentbox: backend $b chosen by the environment variable AGENTBOX_BACKEND"
		expect_stdout_contains "AGENTBOX_BACKEND=$b: explain's reason names the variable" \
			"requested by the environment variable AGENTBOX_BACKEND"
	done
	abx env AGENTBOX_BACKEND=bwrap "$AGENTBOX" run --backend builtin --events-fd 3 -- true 3>"$CASE_DIR/ev.flag"
	expect_exit "--backend over AGENTBOX_BACKEND runs" 0
	expect "--backend over AGENTBOX_BACKEND: nothing said on stderr" '[ -z "$ERR" ]'
	expect "--backend over AGENTBOX_BACKEND: the flag's backend, reason requested" \
		"grep -q '\"backend\":\"builtin\",\"backend_reason\":\"requested\"' '$CASE_DIR/ev.flag'"
	abx env AGENTBOX_BACKEND=auto "$AGENTBOX" run -- true
	expect "AGENTBOX_BACKEND=auto (the default): nothing said" '[ -z "$ERR" ]'
}

# Issue #14: flags that set one value cannot contradict each other (the
# last one does not silently win), and an empty path is not the working
# directory.
case_flag_contradictions() {
	new_ws
	local run=(-- touch "$WS/ran")
	bad_input "--net none then --net full" "--net is given twice with different values ('none', then 'full')" \
		run --net none --net=full "${run[@]}"
	bad_input "--policy read-only then workspace-write" \
		"--policy is given twice with different values ('read-only', then 'workspace-write')" \
		run --policy read-only --policy workspace-write "${run[@]}"
	new_outside
	printf '{"version": 1}\n' >"$OUTSIDE/a.json"
	printf '{"version": 1}\n' >"$OUTSIDE/b.json"
	bad_input "two different --policy-file" "--policy-file is given twice" \
		run --policy-file "$OUTSIDE/a.json" --policy-file "$OUTSIDE/b.json" "${run[@]}"
	local f
	for f in --write --read --deny; do
		bad_input "$f with an empty path" "$f: the path is empty" \
			run --policy read-only "$f" "" "${run[@]}"
		bad_input "$f= with an empty path" "$f: the path is empty" \
			run --policy read-only "$f=" "${run[@]}"
	done
	ab run --net none --net none --policy workspace-write --policy=workspace-write -C "$WS" \
		-- touch "$WS/ran"
	expect_exit "the same value repeated is fine" 0
	expect "... and the command ran" '[ -e "$WS/ran" ]'
}
