# Issue #14, "Git that works, and stays safe": --git commit (objects,
# refs, index and HEAD writable; hooks, config, info/ and pointer files
# read-only and uncreatable), the GIT_CONFIG_* the command's git gets, the
# refs listed in the exit event, and the --git commit hint in protect mode.

# git inside the sandbox needs an identity; the environment passes through
export GIT_AUTHOR_NAME=agentbox-it GIT_AUTHOR_EMAIL=it@agentbox.invalid
export GIT_COMMITTER_NAME=agentbox-it GIT_COMMITTER_EMAIL=it@agentbox.invalid

# git_repo DIR: a repository with one commit on main (file a).
git_repo() {
	git_q init "$1" && echo a >"$1/a" && git_q -C "$1" add a && git_q -C "$1" commit -m init
}

# The exit event line of the last run (events on fd 3, into $CASE_DIR/ev).
exit_event() {
	grep '"event":"exit"' "$CASE_DIR/ev"
}

case_git_commit_workflow() {
	new_ws
	git_repo "$WS/repo" || { fail "setup: a repository with one commit"; return; }
	sbx --policy workspace-write --git commit -C "$WS" -- '
		set -e
		mkdir fresh && cd fresh && git init -q -b main && echo f >f && git add f &&
			git commit -qm fresh && echo "init+commit in a fresh dir"
		cd ../repo
		echo b >b && git add b && git commit -qm second && echo "add+commit"
		git branch side HEAD~1 && echo "branch"
		echo changed >>a && git stash -q && git stash pop -q && git commit -qam third && echo "stash"
		git checkout -q side && echo s >s && git add s && git commit -qm side &&
			git rebase -q main && echo "rebase"
		git worktree add -q ../wt main~1 2>/dev/null && cd ../wt && echo w >w && git add w &&
			git commit -qm in-worktree && echo "worktree add+commit"'
	expect_exit "--git commit: the git workflow runs" 0
	expect_stdout_eq "--git commit: every step succeeded" "$(printf '%s\n' \
		"init+commit in a fresh dir" "add+commit" "branch" "stash" "rebase" "worktree add+commit")"
	expect "host: main has the three commits" \
		'[ "$(git -C "$WS/repo" log --format=%s main | tr "\n" " ")" = "third second init " ]'
	expect "host: side was rebased onto main" \
		'[ "$(git -C "$WS/repo" log --format=%s side | tr "\n" " ")" = "side third second init " ]'
	expect "host: the worktree commit is in the repository" \
		'git -C "$WS/repo" log --all --format=%s | grep -qx in-worktree'
	expect "host: the repository is consistent (git fsck)" 'git -C "$WS/repo" fsck --no-progress >/dev/null 2>&1'
}

# What git trusts stays read-only, existing or missing, in the repository,
# its worktrees and its submodules' git dirs; .git cannot be moved away.
case_git_commit_trusted_names_read_only() {
	new_ws
	git_repo "$WS/repo" && git_q -C "$WS/repo" worktree add "$WS/wt" &&
		mkdir -p "$WS/repo/.git/modules/sub" && git_q init --bare "$WS/repo/.git/modules/sub" ||
		{ fail "setup: repository, worktree and a submodule git dir"; return; }
	local wtdir="$WS/repo/.git/worktrees/wt" before
	before=$(cd "$WS/repo/.git" && find . \( -path ./objects -o -path ./logs -o -path ./refs \) -prune -o \
		-type f -printf '%p %s %T@\n' | LC_ALL=C sort)
	sbx --policy workspace-write --git commit -C "$WS/repo" -- "
		echo '#!/bin/sh' >.git/hooks/pre-commit 2>/dev/null && echo 'wrote hooks/pre-commit'
		echo '[core] fsmonitor = evil' >>.git/config 2>/dev/null && echo 'appended to config'
		git config core.fsmonitor evil 2>/dev/null && echo 'git config wrote config'
		echo '* filter=evil' >.git/info/attributes 2>/dev/null && echo 'wrote info/attributes'
		echo '[core] fsmonitor = evil' >.git/config.worktree 2>/dev/null && echo 'created config.worktree'
		echo ../x >.git/commondir.tmp 2>/dev/null && mv .git/commondir.tmp .git/config 2>/dev/null &&
			echo 'renamed over config'
		echo '[core] fsmonitor = evil' >$wtdir/config.worktree 2>/dev/null && echo 'created worktree config.worktree'
		echo /tmp/evil >$wtdir/gitdir 2>/dev/null && echo 'wrote worktree gitdir'
		echo /tmp/evil >$wtdir/commondir 2>/dev/null && echo 'wrote worktree commondir'
		echo '[core] fsmonitor = evil' >>.git/modules/sub/config 2>/dev/null && echo 'wrote module config'
		touch .git/modules/sub/hooks/post-checkout 2>/dev/null && echo 'wrote module hook'
		mkdir .git/modules/planted 2>/dev/null && echo 'planted a submodule git dir'
		{ echo ok >.git/modules/sub/scratch && rm .git/modules/sub/scratch; } || echo 'module git dir not writable'
		mv .git .git-away 2>/dev/null && echo 'moved .git'
		rm -f .git/commondir.tmp; echo ok >.git/scratch && rm .git/scratch && echo 'other files writable'"
	expect_exit "--git commit: the run works" 0
	expect_stdout_eq "--git commit: nothing git trusts was written or created" "other files writable"
	expect "host: the git dirs' trusted files are unchanged" \
		'[ "$(cd "$WS/repo/.git" && find . \( -path ./objects -o -path ./logs -o -path ./refs \) -prune -o -type f -printf "%p %s %T@\n" | LC_ALL=C sort)" = "$before" ]'
	expect_absent "host: no config.worktree" "$WS/repo/.git/config.worktree"
	expect_absent "host: no worktree config.worktree" "$wtdir/config.worktree"
}

# A worktree whose .git is a pointer file: with only the worktree writable
# (the working directory), --git commit alone lets the command commit
# there; the main repository's config and hooks stay read-only.
case_git_commit_in_pointer_worktree() {
	new_ws
	git_repo "$WS/main" && git_q -C "$WS/main" worktree add "$WS/wt" ||
		{ fail "setup: a repository and a worktree"; return; }
	cp "$WS/main/.git/config" "$CASE_DIR/config.orig"
	# only the worktree is writable (workspace-write would add /tmp)
	local p=(--policy read-only --write "$WS/wt" -C "$WS/wt")
	sbx "${p[@]}" -- 'echo x >x && git add x && git commit -qm protected'
	expect_nonzero "protect mode: committing in the worktree fails"
	sbx "${p[@]}" --git commit -- '
		echo x >x && git add x && git commit -qm in-wt && echo committed
		echo evil >>../main/.git/config 2>/dev/null && echo "wrote main config"
		touch ../main/.git/hooks/post-commit 2>/dev/null && echo "wrote main hook"
		echo "gitdir: /tmp/evil" >.git 2>/dev/null && echo "rewrote the pointer file"
		echo evil >../main/file 2>/dev/null && echo "wrote the main checkout"
		exit 0'
	expect_exit "--git commit: the run works" 0
	expect_stdout_eq "--git commit: the commit works, nothing trusted is written" committed
	expect "host: the worktree branch has the commit" \
		'[ "$(git -C "$WS/wt" log -1 --format=%s)" = in-wt ]'
	expect "host: main config unchanged" 'cmp -s "$WS/main/.git/config" "$CASE_DIR/config.orig"'
	expect_absent "host: no hook in the main repository" "$WS/main/.git/hooks/post-commit"
	expect_absent "host: the main checkout stays read-only" "$WS/main/file"
}

case_git_commit_exit_event_lists_refs() {
	new_ws
	git_repo "$WS/repo" || { fail "setup: a repository"; return; }
	git_q -C "$WS/repo" branch doomed
	local old
	old=$(git -C "$WS/repo" rev-parse main)
	abx "$AGENTBOX" run --policy workspace-write --git commit -C "$WS/repo" --events-fd 3 -- \
		/bin/sh -c 'echo b >b && git add b && git commit -qm two && git branch -qD doomed 2>/dev/null; git tag t1' \
		3>"$CASE_DIR/ev"
	expect_exit "--git commit: the run works" 0
	local new ev
	new=$(git -C "$WS/repo" rev-parse main)
	ev=$(exit_event)
	expect "exit event: main moved, old and new ids" \
		'grep -qF "{\"repo\":\"$WS/repo/.git\",\"ref\":\"refs/heads/main\",\"old\":\"$old\",\"new\":\"$new\"}" <<<"$ev"'
	expect "exit event: the deleted branch, new null" \
		'grep -qF "\"ref\":\"refs/heads/doomed\",\"old\":\"$old\",\"new\":null}" <<<"$ev"'
	expect "exit event: the new tag, old null" \
		'grep -qF "\"ref\":\"refs/tags/t1\",\"old\":null,\"new\":\"$new\"}" <<<"$ev"'
	expect "exit event: HEAD (symbolic, unchanged) not listed" '! grep -q "\"ref\":\"HEAD\"" <<<"$ev"'
	expect "host: the reflog of main keeps the old id" \
		'git -C "$WS/repo" reflog main | grep -q "^${old:0:7}"'
	abx "$AGENTBOX" run --policy workspace-write --git commit -C "$WS/repo" --events-fd 3 -- true 3>"$CASE_DIR/ev"
	expect "exit event: nothing changed, an empty list" 'exit_event | grep -qF "\"git\":\"commit\",\"git_refs\":[]"'
	# more changes than one event lists: the first 50 and the count
	abx "$AGENTBOX" run --policy workspace-write --git commit -C "$WS/repo" --events-fd 3 -- \
		/bin/sh -c 'for i in $(seq 60); do git tag many$i || exit 1; done' 3>"$CASE_DIR/ev"
	expect_exit "60 tags made" 0
	expect "exit event: 50 listed, 60 counted, truncated" \
		'[ "$(exit_event | grep -o "\"ref\":\"refs/tags/many" | wc -l)" = 50 ] && exit_event | grep -qF "\"git_refs_changed\":60,\"git_refs_truncated\":true"'
}

# The default is protect: a committing git command fails, and agentbox
# says how to allow it (stderr unless -q, and the exit event).
case_git_protect_hint() {
	new_ws
	git_repo "$WS/repo" || { fail "setup: a repository"; return; }
	abx "$AGENTBOX" run --policy workspace-write -C "$WS/repo" --events-fd 3 -- \
		/bin/sh -c 'echo b >b && git add b && git commit -qm two' 3>"$CASE_DIR/ev"
	expect_nonzero "protect (default): the commit fails"
	expect_stderr_contains "protect: stderr names --git commit" "run with --git commit"
	expect "protect: the exit event has git_hint" 'exit_event | grep -qF "\"git\":\"protect\",\"git_hint\":\"--git commit\""'
	expect "host: no commit" '[ "$(git -C "$WS/repo" rev-list --count main)" = 1 ]'
	ab run -q --policy workspace-write -C "$WS/repo" -- git commit --allow-empty -qm x
	expect_nonzero "protect -q: git commit fails"
	expect "protect -q: no hint on stderr" '! grep -q -- "--git commit" <<<"$ERR"'
	ab run --policy workspace-write -C "$WS/repo" -- sh -c 'git status >/dev/null; exit 3'
	expect "protect: no hint for a command that writes nothing in git" '! grep -q -- "--git commit" <<<"$ERR"'
}

# The command's git gets GIT_CONFIG_* after the caller's own: no hooks,
# no fsmonitor, the repository trusted whatever its owner maps to.
case_git_environment() {
	new_ws
	git_repo "$WS/repo" || { fail "setup: a repository"; return; }
	printf '#!/bin/sh\necho hook-ran >%s/hook-ran\n' "$WS" >"$WS/repo/.git/hooks/pre-commit"
	chmod +x "$WS/repo/.git/hooks/pre-commit"
	abx env GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=user.name GIT_CONFIG_VALUE_0=from-caller \
		"$AGENTBOX" run --policy workspace-write --git commit -C "$WS/repo" -- /bin/sh -c '
		git config user.name; git config core.hooksPath; git config core.fsmonitor
		git config --get-all safe.directory
		git commit -q --allow-empty -m hooked && echo committed'
	expect_exit "the run works" 0
	expect_stdout_eq "caller's entry kept, ours added" "$(printf '%s\n' from-caller /dev/null false "$WS/repo" committed)"
	expect_absent "the repository's pre-commit hook did not run" "$WS/hook-ran"
	abx env GIT_CONFIG_COUNT=bogus "$AGENTBOX" run --policy workspace-write -C "$WS/repo" -- git config core.hooksPath
	expect_stdout_eq "a malformed caller count is replaced" /dev/null
}

case_git_policy_file_key() {
	new_ws
	git_repo "$WS/repo" || { fail "setup: a repository"; return; }
	new_outside
	echo '{"version": 1, "preset": "workspace-write", "git": "commit"}' >"$OUTSIDE/p.json"
	ab run --policy-file "$OUTSIDE/p.json" -C "$WS/repo" -- git commit -q --allow-empty -m from-file
	expect_exit "\"git\": \"commit\" in a policy file allows the commit" 0
	ab explain --policy-file "$OUTSIDE/p.json" -C "$WS/repo"
	expect "explain: .git/config read-only under --git commit" \
		'grep -E "^$WS/repo/.git/config +read +read-only +--git commit" <<<"$OUT" >/dev/null'
	expect "explain: .git writable but pinned" 'grep -E "^$WS/repo/.git +write " <<<"$OUT" >/dev/null'
	expect "explain: the mode, first" 'grep -q "^git: commit (--git commit): 1 repository writable" <<<"$OUT"'
	echo '{"version": 1, "git": "yes"}' >"$OUTSIDE/bad.json"
	ab run --policy-file "$OUTSIDE/bad.json" -- true
	expect_exit "a bad \"git\" value is refused" 125
	expect_stderr_contains "the error names the key and the choices" '"git" must be "protect"'
	ab run --git protect --git commit -- true
	expect_exit "two different --git values are refused" 125
}

# Landlock: the broker creates entries in the narrowed git dir (index.lock,
# new objects and refs), Landlock refuses what git trusts.
case_git_commit_landlock() {
	landlock_case "landlock --git commit" || return 0
	new_ws
	git_repo "$WS/repo" || { fail "setup: a repository"; return; }
	cp "$WS/repo/.git/config" "$CASE_DIR/config.orig"
	sbx --backend landlock --policy workspace-write --git commit -C "$WS/repo" -- '
		echo b >b && git add b && git commit -qm two && git branch side && git stash list >/dev/null &&
			echo committed
		echo "#!/bin/sh" >.git/hooks/pre-commit 2>/dev/null && echo "wrote hook"
		git config core.fsmonitor evil 2>/dev/null && echo "git config wrote config"
		echo x >.git/config.worktree 2>/dev/null && echo "created config.worktree"
		echo x >.git/info/attributes 2>/dev/null && echo "wrote info/attributes"
		mv .git .git-away 2>/dev/null && echo "moved .git"
		exit 0'
	expect_exit "landlock --git commit: the run works" 0
	expect_stdout_eq "landlock: commits work, trusted names stay read-only" committed
	expect "host: main has the commit" '[ "$(git -C "$WS/repo" log -1 --format=%s main)" = two ]'
	expect "host: config unchanged" 'cmp -s "$WS/repo/.git/config" "$CASE_DIR/config.orig"'
	expect_absent "host: no hook" "$WS/repo/.git/hooks/pre-commit"
	ab explain --backend landlock --policy workspace-write --git commit -C "$WS/repo"
	expect "landlock explain: the git dir is narrowed around what git trusts" \
		'grep -q "refused: .*$WS/repo/.git" <<<"$OUT"'
	expect "landlock explain: the git line says so" \
		'grep -q "^git: commit .*Landlock: each git dir is narrowed" <<<"$OUT"'
}

# $HOME writable (here under /tmp) without a ~/.gitconfig: the protected
# name is blocked as an empty read-only file, which git reads as an empty
# configuration (a directory there made every git command fail).
case_git_missing_home_gitconfig() {
	new_ws
	git_repo "$WS/repo" || { fail "setup: a repository"; return; }
	local h=$CASE_DIR/home
	mkdir -p "$h"
	HOME=$h sbx --policy workspace-write -C "$WS/repo" -- '
		git status --short >/dev/null && echo "git status works"
		git config --global alias.x "!evil" 2>/dev/null && echo "wrote ~/.gitconfig"
		exit 0'
	expect_stdout_eq "missing ~/.gitconfig: git works, cannot create it" "git status works"
	expect_absent "host: no ~/.gitconfig left" "$h/.gitconfig"
}

# A rebase the command leaves in progress: its todo list is the
# command's, so the run ends with a warning naming it.
case_git_commit_rebase_left_in_progress() {
	new_ws
	git_repo "$WS/repo" && echo b >"$WS/repo/b" && git_q -C "$WS/repo" add b &&
		git_q -C "$WS/repo" commit -m two || { fail "setup: a repository with two commits"; return; }
	abx "$AGENTBOX" run --policy workspace-write --git commit -C "$WS/repo" --events-fd 3 -- \
		/bin/sh -c 'GIT_SEQUENCE_EDITOR="sed -i 1ibreak" git rebase -q -i HEAD~1' 3>"$CASE_DIR/ev"
	expect_exit "the rebase stops at the break" 0
	expect "host: a rebase is in progress" '[ -d "$WS/repo/.git/rebase-merge" ]'
	expect "a git_operation_in_progress warning names it" \
		'grep -qF "\"code\":\"git_operation_in_progress\",\"path\":\"$WS/repo/.git/rebase-merge\"" "$CASE_DIR/ev"'
	expect_stderr_contains "... on stderr too" "continuing it on the host runs the commands (exec lines)"
}

# A nested repository found by the git scan (vendor/lib/.git, not a
# submodule) gets the same split as the top-level one under --git commit:
# committing there works, its hooks and config stay read-only; under
# protect it stays read-only as a whole.
case_git_commit_nested_repository() {
	new_ws
	git_repo "$WS/repo" && git_repo "$WS/repo/vendor/lib" ||
		{ fail "setup: a repository with a nested one"; return; }
	local before
	before=$(git -C "$WS/repo/vendor/lib" rev-parse HEAD)
	cp "$WS/repo/vendor/lib/.git/config" "$CASE_DIR/config.orig"
	sbx --policy workspace-write --git commit -C "$WS/repo" -- '
		cd vendor/lib || exit 9
		echo y >y && git add y && git commit -qm nested && echo committed
		echo "#!/bin/sh" >.git/hooks/pre-commit 2>/dev/null && echo "wrote nested hook"
		echo "[core] fsmonitor = evil" >>.git/config 2>/dev/null && echo "wrote nested config"
		true'
	expect_exit "--git commit: the run works" 0
	expect_stdout_eq "--git commit: the nested commit works, hooks and config do not" "committed"
	expect "host: the nested repository has the new commit" \
		'[ "$(git -C "$WS/repo/vendor/lib" rev-parse HEAD^)" = "$before" ]'
	expect "host: the nested config is unchanged" 'cmp -s "$WS/repo/vendor/lib/.git/config" "$CASE_DIR/config.orig"'
	expect_absent "host: no nested pre-commit hook" "$WS/repo/vendor/lib/.git/hooks/pre-commit"
	sbx --policy workspace-write -C "$WS/repo" -- 'cd vendor/lib && echo z >z && git add z 2>/dev/null && echo added'
	expect_stdout_eq "protect: the nested index stays read-only" ""
}
