# Deny globs (README "Deny globs"): --deny PATTERN hides its matches at
# every depth and nothing else, the built-in secret set hides .env and
# keys in a workspace-write working directory (not .env.example, not the
# fixtures of installed packages), --allow-read takes one match back, a
# walk that reaches its bound refuses the run unless --glob-partial, and
# the Landlock backend hides the same files.

# visible LIST...: one line per path, "R path" when it can be read inside,
# "- path" when not (the script runs in the sandbox).
glob_probe='for f in "$@"; do if cat -- "$f" >/dev/null 2>&1; then echo "R $f"; else echo "- $f"; fi; done'

glob_run() {
	local args=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		args+=("$1")
		shift
	done
	shift
	ab run "${args[@]}" -- /bin/sh -c "$glob_probe" probe "$@"
}

glob_tree() {
	new_ws
	mkdir -p "$WS/d1/d2/d3" "$WS/secrets/inner" "$WS/sub" "$WS/node_modules/pkg/test"
	for f in a.tok d1/b.tok d1/d2/d3/c.tok a.tokx d1/plain.txt secrets/inner/s \
		.env .env.example .env.local sub/server.pem sub/client.key \
		node_modules/pkg/test/fixture.pem plain.txt 'odd[1]' odd1; do
		echo x >"$WS/$f"
	done
}

case_deny_glob_hides_matches_at_every_depth() {
	glob_tree
	glob_run --policy workspace-write --no-default-secret-globs -C "$WS" \
		--deny '**/*.tok' --deny 'secrets/**' -- \
		a.tok d1/b.tok d1/d2/d3/c.tok a.tokx d1/plain.txt secrets/inner/s plain.txt .env
	expect_exit "the run succeeds" 0
	expect_stdout_eq "matches hidden at depths 0, 1 and 3 and below secrets/; the rest readable" \
		"$(printf '%s\n' '- a.tok' '- d1/b.tok' '- d1/d2/d3/c.tok' 'R a.tokx' 'R d1/plain.txt' \
			'- secrets/inner/s' 'R plain.txt' 'R .env')"
	expect "the host files are untouched" '[ "$(cat "$WS/d1/d2/d3/c.tok")" = x ]'
}

case_deny_glob_literal_name_with_brackets() {
	glob_tree
	glob_run --policy workspace-write --no-default-secret-globs -C "$WS" \
		--deny 'odd\[1\]' -- 'odd[1]' odd1
	expect_stdout_eq "an escaped --deny value is the literal name, not a class" \
		"$(printf '%s\n' '- odd[1]' 'R odd1')"
	glob_run --policy workspace-write --no-default-secret-globs -C "$WS" \
		--deny 'odd[1]' -- 'odd[1]' odd1
	expect_stdout_eq "unescaped, [1] is a class: it matches odd1" \
		"$(printf '%s\n' 'R odd[1]' '- odd1')"
}

case_default_secret_set_hides_env_and_keys() {
	glob_tree
	glob_run --policy workspace-write -C "$WS" -- \
		.env .env.local .env.example sub/server.pem sub/client.key \
		node_modules/pkg/test/fixture.pem plain.txt
	expect_exit "the run succeeds" 0
	expect_stdout_eq ".env, .env.local and keys hidden; .env.example, package fixtures and the rest readable" \
		"$(printf '%s\n' '- .env' '- .env.local' 'R .env.example' '- sub/server.pem' \
			'- sub/client.key' 'R node_modules/pkg/test/fixture.pem' 'R plain.txt')"
	glob_run --policy workspace-write --no-default-secret-globs -C "$WS" -- .env sub/server.pem
	expect_stdout_eq "--no-default-secret-globs turns the set off" \
		"$(printf '%s\n' 'R .env' 'R sub/server.pem')"
	glob_run --policy read-only -C "$WS" -- .env
	expect_stdout_eq "read-only working directory: the set does not apply" 'R .env'
}

case_allow_read_undoes_one_match() {
	glob_tree
	glob_run --policy workspace-write -C "$WS" --allow-read sub/server.pem \
		--deny '**/*.tok' --allow-read d1 -- sub/server.pem sub/client.key .env a.tok d1/b.tok d1/d2/d3/c.tok
	expect_stdout_eq "the named match and the tree below d1 stay readable, the others hidden" \
		"$(printf '%s\n' 'R sub/server.pem' '- sub/client.key' '- .env' '- a.tok' 'R d1/b.tok' 'R d1/d2/d3/c.tok')"
	glob_run --policy workspace-write -C "$WS" --read .env -- .env .env.local
	expect_stdout_eq "a rule naming the matched path itself keeps it readable" \
		"$(printf '%s\n' 'R .env' '- .env.local')"
	ab explain --policy workspace-write -C "$WS" --allow-read sub/server.pem
	expect_stdout_contains "explain names the match kept by --allow-read" \
		"$WS/sub/server.pem (kept visible: --allow-read)"
	expect_stdout_contains "explain names the hidden match" "$WS/sub/client.key"
	expect_stdout_contains "explain gives the walk's cost" "deny glob walk of $WS:"
	expect_stdout_contains "explain says created files are not covered" \
		"files that match and are created during the run are not hidden"
}

case_deny_glob_posture_in_start_event() {
	glob_tree
	abx "$AGENTBOX" run --policy workspace-write -C "$WS" --deny '**/*.tok' --events-fd 3 -- true \
		3>"$CASE_DIR/ev"
	expect_exit "the run succeeds" 0
	expect "the start event counts the patterns and the hidden paths" \
		'grep -q "\"deny_globs\":{\"patterns\":17,\"hidden_paths\":7,\"complete\":true,\"created_during_run\":\"not hidden\"}" "$CASE_DIR/ev"'
}

case_deny_glob_walk_bound_refuses() {
	glob_tree
	new_outside
	for i in $(seq 1 60); do : >"$WS/d1/f$i"; done
	echo '{"version": 1, "glob_limits": {"entries": 30}}' >"$OUTSIDE/p.json"
	ab run --policy workspace-write --policy-file "$OUTSIDE/p.json" -C "$WS" -- touch ran
	expect_exit "a walk beyond its bound refuses the run" 125
	expect_stderr_contains "... saying why" "deny globs could not be fully expanded: the walk reached its bound (30 entries)"
	expect_stderr_contains "... naming the patterns" "the built-in secret set under $WS"
	expect_stderr_contains "... and the way out" "--glob-partial"
	expect_absent "... and nothing ran" "$WS/ran"
	ab run --policy workspace-write --policy-file "$OUTSIDE/p.json" -C "$WS" --glob-partial -- true
	expect_exit "--glob-partial runs" 0
	expect_stderr_contains "... with a warning" "matches it did not reach are not hidden (--glob-partial)"
	echo '{"version": 1, "deny_globs": ["**/*.tok"], "glob_limits": {"depth": 2}}' >"$OUTSIDE/d.json"
	ab run --policy workspace-write --no-default-secret-globs --policy-file "$OUTSIDE/d.json" -C "$WS" -- true
	expect_exit "a tree deeper than the depth bound refuses too" 125
	expect_stderr_contains "... naming the pattern from the file" "(depth 2) at $WS/d1/d2"
	expect_stderr_contains "... and its origin" "$OUTSIDE/d.json deny_globs[0]"
}

case_deny_glob_landlock() {
	landlock_case "deny globs on the Landlock backend" || return 0
	glob_tree
	echo s3cret-env >"$WS/.env"
	glob_run --backend landlock --policy workspace-write -C "$WS" --deny '**/*.tok' -- \
		a.tok d1/d2/d3/c.tok a.tokx .env .env.example sub/server.pem plain.txt
	expect_exit "the run succeeds" 0
	expect_stdout_eq "Landlock hides the same matches" \
		"$(printf '%s\n' '- a.tok' '- d1/d2/d3/c.tok' 'R a.tokx' '- .env' 'R .env.example' '- sub/server.pem' 'R plain.txt')"
	sbx --backend landlock --policy workspace-write -C "$WS" -- 'ls -a; mv .env moved; cat moved'
	expect_stdout_contains "the workspace holding a hidden .env stays listable" ".env.example"
	expect_stdout_lacks "... and renaming .env away does not reveal it" "s3cret-env"
	expect "... and it is still there on the host" '[ "$(cat "$WS/.env")" = s3cret-env ] && [ ! -e "$WS/moved" ]'
}

case_deny_glob_cache_reused_and_invalidated() {
	glob_tree
	local p=(--policy workspace-write -C "$WS" --deny '**/*.tok')
	ab explain "${p[@]}"
	expect_stdout_lacks "the first walk reads the tree" "from the cache"
	ab explain "${p[@]}"
	expect_stdout_contains "the second one comes from the cache" "(from the cache: every directory it read is unchanged)"
	glob_run "${p[@]}" -- a.tok d1/d2/d3/c.tok .env a.tokx
	expect_stdout_eq "a cached walk hides the same files" \
		"$(printf '%s\n' '- a.tok' '- d1/d2/d3/c.tok' '- .env' 'R a.tokx')"
	ab explain "${p[@]}"
	expect_stdout_contains "a run's placeholders (same entries afterwards) keep the cache valid" \
		"(from the cache: every directory it read is unchanged)"
	echo x >"$WS/d1/d2/new.tok"
	ab explain "${p[@]}"
	expect_stdout_lacks "a file added in a subdirectory invalidates the cache" "from the cache"
	expect_stdout_contains "... and the new match is found" "$WS/d1/d2/new.tok"
	glob_run "${p[@]}" -- d1/d2/new.tok a.tok
	expect_stdout_eq "... and hidden" "$(printf '%s\n' '- d1/d2/new.tok' '- a.tok')"
}

case_deny_glob_keys_in_agentbox_config() {
	new_ws
	ab config --no-config -C "$WS" --deny '**/*.tok' --allow-read keep.tok --no-default-secret-globs
	expect_exit "agentbox config succeeds" 0
	expect_stdout_contains "it prints the pattern, anchored" "\"deny_globs\": [\"$WS/**/*.tok\"]"
	expect_stdout_contains "... the --allow-read path" "\"allow_read\": [\"$WS/keep.tok\"]"
	expect_stdout_contains "... and the switched-off set" '"default_secret_globs": false'
}

case_deny_glob_unreadable_own_directory_refuses() {
	glob_tree
	mkdir "$WS/locked"
	chmod 000 "$WS/locked"
	ab run --policy workspace-write -C "$WS" --deny '**/*.tok' -- true
	if [ "$(id -u)" = 0 ]; then
		expect_exit "root reads every directory: the run goes on" 0
	else
		expect_exit "a directory of the caller's that the walk cannot read refuses the run" 125
		expect_stderr_contains "... naming it" "the walk reached its bound (permission denied) at $WS/locked"
		ab run --policy workspace-write -C "$WS" --deny '**/*.tok' --glob-partial -- true
		expect_exit "... unless --glob-partial" 0
	fi
	chmod 755 "$WS/locked"
}
