# Found while profiling #17: the empty placeholders agentbox makes for
# missing protected names blocked as files (.envrc, .gitmodules,
# .mcp.json) must not show up in git inside the sandbox. The namespace
# backends cover the repository's info/exclude with a read-only copy that
# adds one anchored pattern per placeholder (src/plan/git_exclude.c); the
# host's file stays as it is.

export GIT_AUTHOR_NAME=agentbox-it GIT_AUTHOR_EMAIL=it@agentbox.invalid
export GIT_COMMITTER_NAME=agentbox-it GIT_COMMITTER_EMAIL=it@agentbox.invalid

# The three names blocked as files in the working directory of a
# workspace-write run (policy/protect_list.c block_as_file).
GX_PLACEHOLDERS=".envrc .gitmodules .mcp.json"

# gx_placeholders_inside: the shell words that print "placeholders" when
# every file placeholder is there inside (so that a clean status means
# that git ignored them, not that they were missing).
gx_placeholders_inside() {
	local n c=""
	for n in $GX_PLACEHOLDERS; do
		c+="[ -f $n ] && [ ! -s $n ] && "
	done
	echo "${c}echo placeholders"
}

case_gitexclude_status_clean_in_fresh_repo() {
	new_ws
	git_q init "$WS" || { fail "setup: git init"; return; }
	# the user's own pattern, and a file it ignores
	echo '*.log' >>"$WS/.git/info/exclude" && echo x >"$WS/build.log" ||
		{ fail "setup: a pattern in info/exclude"; return; }
	cp "$WS/.git/info/exclude" "$CASE_DIR/exclude.orig"
	sbx --policy workspace-write --net none -C "$WS" -- "
		$(gx_placeholders_inside)
		git status --porcelain
		git check-ignore -q build.log && echo 'build.log ignored'
		echo end"
	expect_exit "git runs in the sandbox" 0
	expect_stdout_eq "git status lists nothing: the placeholders are ignored, and so is build.log" \
		"$(printf '%s\n' placeholders 'build.log ignored' end)"
	expect "host: info/exclude is byte-identical after the run" \
		'cmp -s "$WS/.git/info/exclude" "$CASE_DIR/exclude.orig"'
	expect "host: git status is clean after the run (no placeholder left)" \
		'[ -z "$(git -C "$WS" status --porcelain)" ]'
	ab explain --policy workspace-write --net none -C "$WS"
	expect_stdout_contains "explain lists the cover of info/exclude" \
		"cover-with-data      $WS/.git/info/exclude"
	expect_stdout_contains "explain says why" "git inside ignores the run's file placeholders $WS/.envrc"
}

# --git commit: `git add -A && git commit` inside commits the work, not
# the placeholders; the user's repository shows nothing deleted after.
case_gitexclude_commit_leaves_placeholders_out() {
	new_ws
	git_q init "$WS" && echo a >"$WS/a" && git_q -C "$WS" add a && git_q -C "$WS" commit -m init ||
		{ fail "setup: a repository with one commit"; return; }
	sbx --policy workspace-write --git commit --net none -C "$WS" -- "
		$(gx_placeholders_inside)
		echo b >b && git add -A && git commit -qm x && echo committed"
	expect_exit "--git commit: add -A and commit succeed" 0
	expect_stdout_eq "--git commit: the commit was made with the placeholders in place" \
		"$(printf '%s\n' placeholders committed)"
	expect "host: the commit holds b alone" \
		'[ "$(git -C "$WS" show --name-only --format= HEAD)" = b ]'
	local n
	for n in $GX_PLACEHOLDERS; do
		expect "host: $n is in no commit" '[ -z "$(git -C "$WS" log --all --format=%H -- "$n")" ]'
	done
	expect "host: git status is clean after the run (nothing shows as deleted)" \
		'[ -z "$(git -C "$WS" status --porcelain)" ]'
}

# A linked worktree: git reads info/exclude from the common git dir, the
# main repository's .git.
case_gitexclude_linked_worktree() {
	new_ws
	git_q init "$WS/main" && echo a >"$WS/main/a" && git_q -C "$WS/main" add a &&
		git_q -C "$WS/main" commit -m init && git_q -C "$WS/main" worktree add "$WS/wt" ||
		{ fail "setup: a repository and a linked worktree"; return; }
	cp "$WS/main/.git/info/exclude" "$CASE_DIR/exclude.orig"
	sbx --policy workspace-write --git commit --net none -C "$WS/wt" -- "
		$(gx_placeholders_inside)
		git status --porcelain
		echo end"
	expect_exit "git runs in the worktree" 0
	expect_stdout_eq "git status in the worktree lists nothing" "$(printf '%s\n' placeholders end)"
	expect "host: the main repository's info/exclude is byte-identical" \
		'cmp -s "$WS/main/.git/info/exclude" "$CASE_DIR/exclude.orig"'
}

# Without info/exclude nothing is covered (a mount needs a file, and
# nothing is created in .git): the run works, git sees the placeholders,
# and explain says so.
case_gitexclude_without_info_exclude() {
	new_ws
	git_q init "$WS" && rm -f "$WS/.git/info/exclude" || { fail "setup: git init without info/exclude"; return; }
	sbx --policy workspace-write --net none -C "$WS" -- 'git status --porcelain'
	expect_exit "the run works" 0
	expect_stdout_contains "git sees the placeholders, as explained" "?? .envrc"
	expect_absent "host: no info/exclude was created" "$WS/.git/info/exclude"
	ab explain --policy workspace-write --net none -C "$WS"
	expect_stdout_contains "explain notes that git will see them" \
		"git inside sees the placeholders $WS/.envrc"
	expect_stdout_lacks "explain lists no cover" "cover-with-data"
}
