# agentbox's own configuration (issue #14, policy integrity): a
# --policy-file or --approvals-save file the run would make writable is
# refused; one kept in .agentbox/ (read-only in every run) cannot be
# changed, replaced, renamed, removed or pre-created by the command; no
# symbolic link is followed to reach either; explain names them.

# A policy that makes the workspace writable, as the README suggests.
cfg_policy() {
	printf '{"version": 1, "preset": "workspace-write"}\n' >"$1"
}

# cfg_attacks WHAT FILE EXTRA-ARGS...: the command tries every way to
# change FILE (relative to $WS); the host copy must stay as it was.
cfg_attacks() {
	local what=$1 file=$2
	shift 2
	local before=absent
	[ -e "$WS/$file" ] && before=$(cat "$WS/$file")
	sbx "$@" -C "$WS" -- "
		echo '{\"version\": 1, \"preset\": \"full-access\"}' >'$file' && echo wrote
		echo '{}' >'$file.new' && mv -f '$file.new' '$file' && echo replaced
		rm '$file' 2>/dev/null && echo removed
		ln -s /etc/passwd '$file' 2>/dev/null && echo linked
		mv .agentbox .agentbox-moved 2>/dev/null && echo renamed-dir
		true"
	expect_exit "$what: the run itself works" 0
	expect_stdout_eq "$what: no write, replace, removal, link or rename succeeded" ""
	if [ "$before" = absent ]; then
		expect_absent "$what: the file was not created on the host" "$WS/$file"
		expect "$what: no link was planted" '[ ! -L "$WS/$file" ]'
	else
		expect_file_content "$what: host content unchanged" "$WS/$file" "$before"
	fi
	expect_absent "$what: .agentbox was not renamed" "$WS/.agentbox-moved"
}

case_policy_file_in_writable_root_refused() {
	new_ws
	cfg_policy "$WS/agent.json"
	ab run --policy-file "$WS/agent.json" -C "$WS" -- touch "$WS/ran"
	expect_exit "policy file in the workspace: refused with 125" 125
	expect_stderr_contains "... the message names the file" "--policy-file $WS/agent.json lies inside $WS"
	expect_stderr_contains "... and what to do" "move the file to .agentbox/"
	expect_absent "... the command did not run" "$WS/ran"

	# the same with a workspace-write preset and the file in /tmp-ish
	# $TMPDIR (writable in that preset)
	new_outside
	cfg_policy "$OUTSIDE/p.json"
	cfg_policy "$TMPDIR/p-$$.json"
	ab run --policy workspace-write --policy-file "$TMPDIR/p-$$.json" -C "$WS" -- touch "$WS/ran"
	expect_exit "policy file in \$TMPDIR under workspace-write: refused" 125
	expect_absent "... the command did not run" "$WS/ran"
	rm -f "$TMPDIR/p-$$.json"

	ab run --net proxy --approvals-save "$WS/saved.json" --policy-file "$OUTSIDE/p.json" \
		-C "$WS" -- touch "$WS/ran"
	expect_exit "--approvals-save in the workspace (even missing): refused" 125
	expect_stderr_contains "... the message names the option and file" "--approvals-save $WS/saved.json lies inside"
	expect_absent "... the command did not run" "$WS/ran"
	expect_absent "... and the file was not created" "$WS/saved.json"

	# outside every writable root it is accepted, and read-only inside
	ab run --policy-file "$OUTSIDE/p.json" -C "$WS" -- sh -c "echo x >'$OUTSIDE/p.json'"
	expect_nonzero "policy file outside the writable roots: read-only inside"
	expect_file_content "... unchanged" "$OUTSIDE/p.json" '{"version": 1, "preset": "workspace-write"}'
}

case_policy_file_in_agentbox_dir_is_read_only() {
	new_ws
	mkdir "$WS/.agentbox"
	cfg_policy "$WS/.agentbox/policy.json"
	cfg_attacks "existing policy file in .agentbox" .agentbox/policy.json \
		--policy-file "$WS/.agentbox/policy.json"
	cfg_attacks "missing save file in an existing .agentbox" .agentbox/approvals.json \
		--policy-file "$WS/.agentbox/policy.json" --net proxy \
		--approvals-save "$WS/.agentbox/approvals.json"
	cfg_policy "$WS/.agentbox/approvals.json"
	cfg_attacks "existing save file in .agentbox" .agentbox/approvals.json \
		--policy-file "$WS/.agentbox/policy.json" --net proxy \
		--approvals-save "$WS/.agentbox/approvals.json"

	# a save file in a .agentbox that does not exist yet: neither can be
	# created (the protected name is blocked)
	new_ws
	new_outside
	cfg_policy "$OUTSIDE/p.json"
	cfg_attacks "missing save file in a missing .agentbox" .agentbox/approvals.json \
		--policy-file "$OUTSIDE/p.json" --net proxy --approvals-save "$WS/.agentbox/approvals.json"
	expect "... .agentbox is not left behind as a directory with content" \
		'[ ! -e "$WS/.agentbox/approvals.json" ]'
}

case_config_files_follow_no_symlink() {
	new_ws
	new_outside
	cfg_policy "$OUTSIDE/real.json"
	ln -s real.json "$OUTSIDE/link.json"
	ab run --policy-file "$OUTSIDE/link.json" -C "$WS" -- touch "$WS/ran"
	expect_exit "a policy file that is a symbolic link: refused" 125
	expect_stderr_contains "... the message says why" "follows none for its own configuration"
	expect_absent "... the command did not run" "$WS/ran"

	mkdir "$OUTSIDE/d"
	cfg_policy "$OUTSIDE/d/p.json"
	ln -s d "$OUTSIDE/dl"
	ab run --policy-file "$OUTSIDE/dl/p.json" -C "$WS" -- touch "$WS/ran"
	expect_exit "a policy file reached through a linked directory: refused" 125
	expect_absent "... the command did not run" "$WS/ran"

	ab run --policy-file "$OUTSIDE/d" -C "$WS" -- touch "$WS/ran"
	expect_exit "a directory as policy file: refused" 125

	mkfifo "$OUTSIDE/fifo"
	ab run --policy-file "$OUTSIDE/fifo" -C "$WS" -- touch "$WS/ran"
	expect_exit "a FIFO as policy file: refused, without blocking" 125
}

case_explain_lists_config_files() {
	new_ws
	new_outside
	mkdir "$WS/.agentbox"
	cfg_policy "$OUTSIDE/p.json"
	ab explain --policy-file "$OUTSIDE/p.json" --net proxy \
		--approvals-save "$WS/.agentbox/s.json" -C "$WS"
	expect_exit "explain with both files: works" 0
	expect_stdout_contains "explain names the policy file and why" \
		"agentbox configuration (--policy-file)"
	expect_stdout_contains "explain names the save file and why" \
		"agentbox configuration (--approvals-save)"
}

# Landlock has no mounts: .agentbox under a writable root is kept
# read-only by the narrowing of landlock_rules.c, and the refusal of a
# writable configuration file does not depend on the backend.
case_config_landlock() {
	landlock_case "landlock config cases" || return 0
	new_ws
	mkdir "$WS/.agentbox"
	cfg_policy "$WS/.agentbox/policy.json"
	cfg_policy "$WS/agent.json"
	ab run --backend landlock --policy-file "$WS/agent.json" -C "$WS" -- touch "$WS/ran"
	expect_exit "landlock: policy file in the workspace refused" 125
	expect_absent "landlock: ... the command did not run" "$WS/ran"
	cfg_attacks "landlock: policy file in .agentbox" .agentbox/policy.json \
		--backend landlock --policy-file "$WS/.agentbox/policy.json"
}
