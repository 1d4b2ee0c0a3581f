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
