# Everything git trusts under a writable root, not only the top-level
# .git (issue #14): nested repositories and submodules found by the git
# scan (--git-scan-depth), pointer files and the git dirs they name, and
# the paths the protected git configuration names (core.hooksPath,
# core.fsmonitor, include.path, ...). The review's two attacks are
# replayed and must fail; the host's own git is then run to show that
# nothing planted runs.

# gn_repo_with_submodule: $WS is a repository with a real submodule
# "sub" made from a local repository outside the workspace.
gn_repo_with_submodule() {
	new_ws
	local lib="$CASE_DIR/lib.$RANDOM"
	git_q init "$lib"
	echo l >"$lib/l.txt"
	git_q -C "$lib" add l.txt
	git_q -C "$lib" commit -m lib
	git_q init "$WS"
	echo a >"$WS/a.txt"
	git_q -C "$WS" add a.txt
	git_q -C "$WS" commit -m top
	git_q -C "$WS" -c protocol.file.allow=always submodule add "$lib" sub
	git_q -C "$WS" commit -m sub
}

# Review attack 1: copy the submodule's git dir into the workspace, set
# core.fsmonitor there, re-point sub/.git at the copy. The next git
# status on the host would run the script.
gn_submodule_attack() {
	local what=$1
	shift
	gn_repo_with_submodule
	expect "$what: the submodule is a pointer file" '[ -f "$WS/sub/.git" ] && [ -d "$WS/.git/modules/sub" ]'
	local pointer
	pointer=$(cat "$WS/sub/.git")
	cp "$WS/.git/modules/sub/config" "$CASE_DIR/sub-config.orig"
	# git inside reads no global configuration: a writable $HOME's
	# missing ~/.gitconfig is blocked as a directory, which git refuses
	sbx "$@" -C "$WS" -- '
		export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
		printf "#!/bin/sh\ntouch \"$PWD/PWNED\"\n" > fsmon.sh; chmod +x fsmon.sh
		cp -r .git/modules/sub evil-gitdir && echo copied
		git config --file evil-gitdir/config core.fsmonitor "$PWD/fsmon.sh" && echo configured
		git config --file evil-gitdir/config core.worktree "$PWD/sub"
		printf "gitdir: ../evil-gitdir\n" > sub/.git.new
		mv -f sub/.git.new sub/.git 2>/dev/null && echo pointer-replaced
		rm -f sub/.git.new
		printf "gitdir: ../evil-gitdir\n" > sub/.git 2>/dev/null && echo pointer-rewritten
		true'
	expect_exit "$what: the run works" 0
	expect_stdout_eq "$what: the copy is made and configured, but the pointer is neither replaced nor rewritten" \
		"$(printf 'copied\nconfigured')"
	expect "$what: sub/.git on the host is the original pointer" '[ -f "$WS/sub/.git" ] && [ "$(cat "$WS/sub/.git")" = "$pointer" ]'
	git -C "$WS" status --porcelain >/dev/null 2>&1
	git -C "$WS/sub" status --porcelain >/dev/null 2>&1
	expect_absent "$what: git status on the host runs nothing planted" "$WS/PWNED"
	sbx "$@" -C "$WS" -- '
		export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
		rm -f sub/.git 2>/dev/null && echo pointer-removed
		mv sub sub-moved 2>/dev/null && echo sub-renamed
		git config --file .git/modules/sub/config core.fsmonitor "$PWD/fsmon.sh" 2>/dev/null && echo modules-config-written
		echo x > .git/modules/sub/hooks/pre-commit 2>/dev/null && echo modules-hook-written
		true'
	expect_exit "$what: the second run works" 0
	expect_stdout_eq "$what: the pointer is not removed, sub not renamed, the module's config and hooks not written" ""
	expect "$what: the submodule's config is unchanged" 'cmp -s "$WS/.git/modules/sub/config" "$CASE_DIR/sub-config.orig"'
}

case_submodule_pointer_attack_fails() {
	gn_submodule_attack "submodule" --policy workspace-write
	ab explain --policy workspace-write -C "$WS"
	expect_stdout_contains "explain: the pointer file is read-only, found by the git scan" \
		"$WS/sub/.git"
	expect_stdout_contains "explain: the scan and its depth" "git scan of $WS: depth 4 (--git-scan-depth)"
}

# Review attack 2: core.hooksPath points into the worktree (husky).
case_hooks_path_in_worktree_is_read_only() {
	new_ws
	git_q init "$WS"
	git_q -C "$WS" config core.hooksPath .husky
	mkdir "$WS/.husky"
	printf '#!/bin/sh\nexit 0\n' >"$WS/.husky/pre-commit"
	chmod +x "$WS/.husky/pre-commit"
	cp "$WS/.husky/pre-commit" "$CASE_DIR/hook.orig"
	sbx --policy workspace-write -C "$WS" -- '
		printf "#!/bin/sh\ntouch \"$PWD/PWNED\"\n" > .husky/pre-commit 2>/dev/null && echo hook-written
		printf "#!/bin/sh\ntouch \"$PWD/PWNED\"\n" > .husky/post-commit 2>/dev/null && echo hook-created
		chmod +x .husky/post-commit 2>/dev/null
		echo ok > other.txt && echo other-written'
	expect_exit "hooksPath: the run works" 0
	expect_stdout_eq "hooksPath: no hook written or created; other files are" "other-written"
	expect "hooksPath: the host's hook is unchanged" 'cmp -s "$WS/.husky/pre-commit" "$CASE_DIR/hook.orig"'
	git_q -C "$WS" add other.txt
	git_q -C "$WS" commit -m host
	expect_absent "hooksPath: git commit on the host runs nothing planted" "$WS/PWNED"
	sbx --policy workspace-write -C "$WS" -- 'mv .husky husky-old 2>/dev/null && echo renamed; true'
	expect_stdout_eq "hooksPath: the hooks directory cannot be renamed away" ""
	ab explain --policy workspace-write -C "$WS"
	expect_stdout_contains "explain names the key and the file" "named by git config core.hookspath = '.husky' ($WS/.git/config:"

	# missing: it cannot be created
	rm -rf "$WS/.husky"
	sbx --policy workspace-write -C "$WS" -- 'mkdir .husky 2>/dev/null && echo made; true'
	expect_stdout_eq "hooksPath: a missing hooks directory cannot be created" ""
	expect_absent "hooksPath: nothing left on the host" "$WS/.husky"
}

case_nested_repo_hooks_and_depth() {
	new_ws
	git_q init "$WS"
	git_q init "$WS/sub"
	mkdir -p "$WS/a/b/c"
	git_q init "$WS/a/b/c/d4"   # .git at depth 4
	git_q init "$WS/a/b/c/d4/e5" # .git at depth 5
	sbx --policy workspace-write -C "$WS" -- '
		echo x > sub/.git/hooks/pre-commit 2>/dev/null && echo sub-hook
		echo x >> sub/.git/config 2>/dev/null && echo sub-config
		rm -rf sub/.git 2>/dev/null; [ -d sub/.git ] || echo sub-removed
		mv sub sub2 2>/dev/null && echo sub-renamed
		echo x > a/b/c/d4/.git/hooks/pre-commit 2>/dev/null && echo d4-hook
		echo x > a/b/c/d4/e5/.git/hooks/pre-commit 2>/dev/null && echo e5-hook
		true'
	expect_exit "nested: the run works" 0
	expect_stdout_eq "nested: only the repository deeper than the scan depth is writable" "e5-hook"
	expect_absent "nested: sub's hook not planted" "$WS/sub/.git/hooks/pre-commit"
	expect_absent "nested: depth-4 hook not planted" "$WS/a/b/c/d4/.git/hooks/pre-commit"
	rm -f "$WS/a/b/c/d4/e5/.git/hooks/pre-commit"
	ab explain --policy workspace-write -C "$WS"
	expect_stdout_contains "explain: the scan says its depth" "a repository deeper than 4 levels is not protected"
	expect_stdout_lacks "explain: the depth-5 repository is not listed" "$WS/a/b/c/d4/e5/.git"

	ab run --policy workspace-write --events-fd 3 -C "$WS" -- true 3>"$CASE_DIR/events"
	expect "nested: the start event's posture gives the depth and the repositories found" \
		'grep -q "\"git_scan\":{\"depth\":4,\"nested_repositories\":2}" "$CASE_DIR/events"'

	sbx --policy workspace-write --git-scan-depth 5 -C "$WS" -- \
		'echo x > a/b/c/d4/e5/.git/hooks/pre-commit 2>/dev/null && echo e5-hook; true'
	expect_stdout_eq "--git-scan-depth 5 protects the depth-5 repository" ""
	new_outside
	local pf="$OUTSIDE/depth.json"
	printf '{"version": 1, "preset": "workspace-write", "git_scan_depth": 0}\n' >"$pf"
	sbx --policy-file "$pf" -C "$WS" -- \
		'echo x > sub/.git/hooks/pre-commit 2>/dev/null && echo sub-hook; rm -f sub/.git/hooks/pre-commit; true'
	expect_stdout_eq "\"git_scan_depth\": 0 searches the top level only" "sub-hook"
	ab run --policy workspace-write --git-scan-depth 33 -C "$WS" -- true
	expect_exit "--git-scan-depth out of range is refused" 125
	expect_stderr_contains "the refusal says the range" "from 0 (the top-level .git only) to 32"
}

case_git_scan_bound_and_skipped_trees() {
	new_ws
	git_q init "$WS"
	mkdir -p "$WS/node_modules/pkg" "$WS/src"
	local i
	for i in $(seq 1 60); do : >"$WS/node_modules/pkg/f$i"; : >"$WS/src/f$i"; done
	git_q init "$WS/node_modules/pkg/vendored" # inside a skipped tree without .git
	AGENTBOX_GIT_SCAN_MAX_ENTRIES=40 ab run --policy workspace-write -C "$WS" -- true
	expect_exit "bound: a scan that reaches its bound refuses the run" 125
	expect_stderr_contains "bound: the refusal names the root" "under $WS reached its bound (40 entries"
	expect_stderr_contains "bound: the refusal names the flags" "--git-scan-partial"
	AGENTBOX_GIT_SCAN_MAX_ENTRIES=40 ab run --policy workspace-write --git-scan-partial -C "$WS" -- true
	expect_exit "bound: --git-scan-partial accepts the smaller scan" 0
	expect_stderr_contains "bound: and says so" "repositories it did not reach are not protected"
	rm -rf "$WS/src"
	AGENTBOX_GIT_SCAN_MAX_ENTRIES=40 ab run --policy workspace-write -C "$WS" -- true
	expect_exit "skipped: node_modules without .git is not entered (its 60 files do not count)" 0
	sbx --policy workspace-write -C "$WS" -- \
		'echo x > node_modules/pkg/vendored/.git/hooks/pre-commit && echo written'
	expect_stdout_eq "skipped: a repository inside node_modules is not protected (documented)" "written"
}

case_config_named_paths() {
	new_ws
	git_q init "$WS"
	# an include in the protected config names a file in the worktree,
	# which names an fsmonitor script there
	git_q -C "$WS" config include.path ../git-extra.cfg
	printf '[core]\n\tfsmonitor = ./tools/fsmon.sh\n[filter "x"]\n\tclean = sh scripts/clean.sh\n[core]\n\tunknownProgram = ./unknown.sh\n' \
		>"$WS/git-extra.cfg"
	mkdir "$WS/tools" "$WS/scripts"
	echo orig >"$WS/tools/fsmon.sh"
	echo orig >"$WS/scripts/clean.sh"
	local g="$CASE_DIR/global.cfg"
	printf '[credential]\n\thelper = !%s/cred.sh\n' "$WS" >"$g"
	GIT_CONFIG_GLOBAL=$g sbx --policy workspace-write -C "$WS" -- '
		echo evil >> git-extra.cfg 2>/dev/null && echo include-written
		echo evil > tools/fsmon.sh 2>/dev/null && echo fsmonitor-written
		echo evil > scripts/clean.sh 2>/dev/null && echo filter-written
		echo evil > cred.sh 2>/dev/null && echo helper-created
		echo evil > unknown.sh 2>/dev/null && echo unknown-key-written
		true'
	expect_exit "config paths: the run works" 0
	expect_stdout_eq "config paths: include, fsmonitor, filter and global helper are read-only; a key outside the table is not" \
		"unknown-key-written"
	expect_file_content "config paths: the fsmonitor script is unchanged" "$WS/tools/fsmon.sh" orig
	expect_absent "config paths: the helper named by the global config was not created" "$WS/cred.sh"
	GIT_CONFIG_GLOBAL=$g ab explain --policy workspace-write -C "$WS"
	expect_stdout_contains "explain: the key, its value and where it was read" \
		"named by git config core.fsmonitor = './tools/fsmon.sh' ($WS/git-extra.cfg:2"

	# a rule that keeps a named path writable: refused, naming the key
	ab run --policy workspace-write --write "$WS/tools/fsmon.sh" -C "$WS" -- true
	expect_exit "config paths: a writable rule on a named path is refused" 125
	expect_stderr_contains "config paths: the refusal names key, file and value" \
		"$WS/git-extra.cfg, line 2: core.fsmonitor = './tools/fsmon.sh'"

	# a value that needs the shell: refused, naming the key
	git_q -C "$WS" config core.pager '$HOME/pager'
	ab run --policy workspace-write -C "$WS" -- true
	expect_exit "config paths: a program name that needs expansion is refused" 125
	expect_stderr_contains "config paths: the refusal names the key and value" "core.pager = '\$HOME/pager'"
	git_q -C "$WS" config --unset core.pager

	# a config git cannot have written: refused, naming file and line
	printf '[core]\n\tfsmonitor = "unterminated\n' >>"$WS/git-extra.cfg"
	ab run --policy workspace-write -C "$WS" -- true
	expect_exit "config paths: a config that does not parse is refused" 125
	expect_stderr_contains "config paths: the refusal names file and line" "git configuration $WS/git-extra.cfg, line 8"
}

# What holds with --backend landlock: the same plan; Landlock keeps the
# read-only paths read-only and refuses creating, removing and renaming
# entries in a directory that holds a protected path.
case_gitnested_landlock() {
	landlock_case "landlock nested repositories" || return 0
	gn_submodule_attack "landlock submodule" --backend landlock --policy workspace-write
	new_ws
	git_q init "$WS"
	git_q init "$WS/sub"
	git_q -C "$WS" config core.hooksPath .husky
	mkdir "$WS/.husky"
	echo orig >"$WS/.husky/pre-commit"
	sbx --backend landlock --policy workspace-write -C "$WS" -- '
		echo x > .husky/pre-commit 2>/dev/null && echo hook-written
		echo x > sub/.git/hooks/pre-commit 2>/dev/null && echo sub-hook
		echo ok > other && echo other-written'
	expect_exit "landlock: the run works" 0
	expect_stdout_eq "landlock: hooksPath and nested hooks are read-only" "other-written"
	expect_file_content "landlock: the hook is unchanged" "$WS/.husky/pre-commit" orig
}
