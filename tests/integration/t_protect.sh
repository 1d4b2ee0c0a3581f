# Protected names (.git, .agentbox, --protect) under writable roots, git
# pointer files and worktrees, and the symlink checks that refuse to run.

case_protected_names_are_read_only() {
	new_ws
	git_q init "$WS"
	mkdir "$WS/.agentbox" "$WS/secrets"
	echo cfg >"$WS/.agentbox/x"
	echo s >"$WS/secrets/s"
	cp "$WS/.git/config" "$CASE_DIR/config.orig"
	local p=(--policy workspace-write -C "$WS")

	sbx "${p[@]}" -- 'echo evil >> .git/config'
	expect_nonzero ".git/config: append fails"
	expect_stderr_contains ".git/config: the failure is EROFS" "Read-only file system"
	expect ".git/config: host content unchanged" 'cmp -s "$WS/.git/config" "$CASE_DIR/config.orig"'

	sbx "${p[@]}" -- 'touch .git/newfile'
	expect_nonzero ".git: creating a file inside fails"
	expect_absent ".git: nothing created" "$WS/.git/newfile"

	sbx "${p[@]}" -- 'echo evil > .agentbox/x'
	expect_nonzero ".agentbox/x: overwrite fails"
	expect_file_content ".agentbox/x: host content unchanged" "$WS/.agentbox/x" cfg

	sbx "${p[@]}" -- 'rm -rf .git; mv .agentbox moved; ls -d .git .agentbox'
	expect_stdout_eq "rm -rf .git and mv .agentbox do not remove them" "$(printf '.agentbox\n.git')"
	expect ".git and .agentbox still on host" '[ -f "$WS/.git/config" ] && [ -f "$WS/.agentbox/x" ]'
	expect_absent "mv .agentbox left nothing" "$WS/moved"

	sbx "${p[@]}" -- 'echo ok > sibling.txt'
	expect_exit "sibling write in the workspace succeeds" 0
	expect_file_content "sibling write visible on host" "$WS/sibling.txt" ok

	sbx "${p[@]}" --protect secrets -- 'echo evil > secrets/s'
	expect_nonzero "--protect NAME: writing inside fails"
	expect_file_content "--protect NAME: host content unchanged" "$WS/secrets/s" s
}

case_missing_agentbox_cannot_be_created() {
	new_ws
	echo a >"$WS/file"
	local before
	before=$(snapshot "$WS")
	sbx --policy workspace-write -C "$WS" -- 'mkdir .agentbox'
	expect_nonzero "mkdir .agentbox fails"
	sbx --policy workspace-write -C "$WS" -- 'mkdir -p .agentbox/sub'
	expect_nonzero "mkdir -p .agentbox/sub fails"
	sbx --policy workspace-write -C "$WS" -- 'touch .agentbox'
	expect_nonzero "touch .agentbox fails"
	sbx --policy workspace-write -C "$WS" -- 'touch .git'
	expect_nonzero "touch .git fails"
	sbx --policy workspace-write -C "$WS" -- 'echo x > new-file'
	expect_exit "other files can still be created" 0
	rm -f "$WS/new-file"
	expect "workspace on host is exactly as before (no .agentbox/.git left)" \
		'[ "$(snapshot "$WS")" = "$before" ]'
	expect_absent ".agentbox absent on host" "$WS/.agentbox"
	expect_absent ".git absent on host" "$WS/.git"
}

case_git_init_blocked() {
	new_ws
	echo a >"$WS/file"
	local before
	before=$(snapshot "$WS")
	sbx --policy workspace-write -C "$WS" -- 'git init -q'
	expect_nonzero "git init in a workspace without .git fails"
	expect "workspace on host is exactly as before" '[ "$(snapshot "$WS")" = "$before" ]'
	expect_absent "no .git left behind" "$WS/.git"
}

case_symlinked_protected_name_refused() {
	local name
	for name in .agentbox .git; do
		new_ws
		mkdir "$WS/decoy"
		echo keep >"$WS/decoy/f"
		ln -s decoy "$WS/$name"
		local before
		before=$(snapshot "$WS")
		sbx --policy workspace-write -C "$WS" -- "echo pwned > $name/f; touch $name/x ran"
		expect_exit "$name -> decoy: agentbox refuses (125)" 125
		expect_stderr_matches "$name -> decoy: message names the link" "^agentbox:.*$name"
		expect_file_content "$name -> decoy: decoy untouched" "$WS/decoy/f" keep
		expect "$name -> decoy: workspace unchanged, command did not run" \
			'[ "$(snapshot "$WS")" = "$before" ]'
	done

	new_ws
	new_outside
	echo keep >"$OUTSIDE/f"
	ln -s "$OUTSIDE" "$WS/.agentbox"
	sbx --policy read-only --write "$WS" -C "$WS" -- 'echo pwned > .agentbox/f'
	expect_exit ".agentbox -> dir outside (--write root): refused" 125
	expect_file_content ".agentbox -> dir outside: untouched" "$OUTSIDE/f" keep
}

case_read_rule_through_symlink_in_writable_area_refused() {
	new_ws
	mkdir "$WS/real"
	echo SECRET >"$WS/real/secret"
	ln -s real "$WS/link"
	sbx --policy workspace-write -C "$WS" --deny "$WS/link/secret" -- 'cat real/secret; touch ran'
	expect_exit "deny rule through a symlink in a writable root: refused" 125
	expect_stderr_matches "deny through symlink: message names the link" "^agentbox:.*$WS/link"
	expect_stdout_lacks "deny through symlink: command did not run" SECRET
	expect_absent "deny through symlink: nothing created" "$WS/ran"

	sbx --policy workspace-write -C "$WS" --read "$WS/link/secret" -- 'touch ran'
	expect_exit "read rule through a symlink in a writable root: refused" 125
	expect_stderr_contains "read through symlink: message names the link" "$WS/link"
	expect_absent "read through symlink: nothing created" "$WS/ran"
}

case_gitdir_pointer_file() {
	new_ws
	mkdir "$WS/store"
	git_q init --separate-git-dir "$WS/store/proj.git" "$WS/proj"
	if ! grep -q '^gitdir: ' "$WS/proj/.git" 2>/dev/null; then
		fail "setup: git init --separate-git-dir made a pointer file"
		return
	fi
	cp "$WS/proj/.git" "$CASE_DIR/pointer.orig"
	cp "$WS/store/proj.git/config" "$CASE_DIR/config.orig"
	local p=(--policy workspace-write --write "$WS" -C "$WS/proj")

	sbx "${p[@]}" -- 'echo "gitdir: /tmp/evil" > .git'
	expect_nonzero ".git pointer file: overwrite fails"
	expect ".git pointer file: unchanged on host" 'cmp -s "$WS/proj/.git" "$CASE_DIR/pointer.orig"'
	sbx "${p[@]}" -- 'echo evil >> ../store/proj.git/config'
	expect_nonzero "resolved gitdir: config append fails"
	expect_stderr_contains "resolved gitdir: the failure is EROFS" "Read-only file system"
	expect "resolved gitdir: config unchanged on host" \
		'cmp -s "$WS/store/proj.git/config" "$CASE_DIR/config.orig"'
	sbx "${p[@]}" -- 'touch ../store/proj.git/hooks/pre-commit'
	expect_nonzero "resolved gitdir: adding a hook fails"
	expect_absent "resolved gitdir: no hook on host" "$WS/store/proj.git/hooks/pre-commit"
	sbx "${p[@]}" -- 'echo ok > ../store/sibling && echo ok > file'
	expect_exit "gitdir sibling and worktree files are writable" 0
	expect_file_content "gitdir sibling write visible on host" "$WS/store/sibling" ok
}

case_git_worktree() {
	new_ws
	git_q init "$WS/main" &&
		echo a >"$WS/main/a" &&
		git_q -C "$WS/main" add a &&
		git_q -C "$WS/main" commit -m init &&
		git_q -C "$WS/main" worktree add "$WS/wt"
	if ! grep -q '^gitdir: ' "$WS/wt/.git" 2>/dev/null; then
		fail "setup: git worktree add made a pointer file"
		return
	fi
	local wtgit
	wtgit=$(sed -n 's/^gitdir: //p' "$WS/wt/.git")
	cp "$WS/wt/.git" "$CASE_DIR/pointer.orig"
	cp "$wtgit/HEAD" "$CASE_DIR/head.orig"
	cp "$WS/main/.git/config" "$CASE_DIR/config.orig"
	# $WS is writable, so main/.git is only protected through wt/.git.
	local p=(--policy read-only --write "$WS" --write "$WS/wt" -C "$WS/wt")

	sbx "${p[@]}" -- 'echo "gitdir: /tmp/evil" > .git'
	expect_nonzero "worktree .git pointer: overwrite fails"
	expect "worktree .git pointer: unchanged" 'cmp -s "$WS/wt/.git" "$CASE_DIR/pointer.orig"'
	sbx "${p[@]}" -- "echo evil > $wtgit/HEAD"
	expect_nonzero "worktree gitdir (main/.git/worktrees/X): write fails"
	expect "worktree gitdir: HEAD unchanged" 'cmp -s "$wtgit/HEAD" "$CASE_DIR/head.orig"'
	sbx "${p[@]}" -- 'echo evil >> ../main/.git/config'
	expect_nonzero "common dir main/.git: config append fails"
	expect "common dir: config unchanged" 'cmp -s "$WS/main/.git/config" "$CASE_DIR/config.orig"'
	sbx "${p[@]}" -- 'touch ../main/.git/hooks/post-checkout'
	expect_nonzero "common dir: adding a hook fails"
	expect_absent "common dir: no hook on host" "$WS/main/.git/hooks/post-checkout"
	sbx "${p[@]}" -- 'echo ok > ../main/newfile && echo ok > newfile'
	expect_exit "main checkout and worktree files are writable" 0
	expect_file_content "main checkout write visible" "$WS/main/newfile" ok
	expect_file_content "worktree write visible" "$WS/wt/newfile" ok
}

# Issue #14: the built-in list of files the host executes or trusts
# (policy/protect_list.c). In the working directory: every project name,
# existing or missing, cannot be written or created; in $HOME (here a
# directory under the writable /tmp, and then a writable root of its own)
# the shell start-up files, .gitconfig and .config/fish too.
case_dangerous_files_are_protected() {
	new_ws
	mkdir "$WS/.vscode"
	echo '{"tasks": []}' >"$WS/.vscode/tasks.json"
	echo 'export A=1' >"$WS/.envrc"
	echo '{"mcpServers": {}}' >"$WS/.mcp.json"
	local h=$CASE_DIR/home
	mkdir -p "$h/.config"
	echo 'PS1=x' >"$h/.bashrc"
	local before_ws before_h
	before_ws=$(snapshot "$WS")
	before_h=$(snapshot "$h")
	HOME=$h sbx --policy workspace-write -C "$WS" -- '
		for f in .vscode/tasks.json .envrc .mcp.json; do
			echo evil >>"$f" 2>/dev/null && echo "wrote $f"
		done
		for d in .vscode .idea .claude .codex .cursor .gemini; do
			mkdir -p "$d/x" 2>/dev/null && echo "made $d/x"
			echo evil >"$d/settings.json" 2>/dev/null && echo "wrote $d/settings.json"
		done
		for f in .gitmodules .envrc .mcp.json; do
			rm -rf "$f" 2>/dev/null; [ -e "$f" ] || echo "removed $f"
		done
		echo "[submodule]" >.gitmodules 2>/dev/null && echo "made .gitmodules"
		mv .vscode .vscode-old 2>/dev/null && echo "renamed .vscode"
		echo evil >>"$HOME/.bashrc" 2>/dev/null && echo "wrote ~/.bashrc"
		for f in .bash_profile .bash_login .bash_logout .profile .zshrc .zprofile .zshenv .zlogin .gitconfig .claude/settings.json; do
			echo evil >"$HOME/$f" 2>/dev/null && echo "made ~/$f"
		done
		echo evil >"$HOME/.config/fish/config.fish" 2>/dev/null && echo "made fish config"
		rmdir "$HOME/.config/fish" 2>/dev/null && echo "removed ~/.config/fish"
		echo ok-config >"$HOME/.config/other" && echo "other config writable"
		true'
	expect_exit "dangerous files: the run works" 0
	expect_stdout_eq "dangerous files: nothing written, created, removed or renamed (but ~/.config/other)" \
		"other config writable"
	rm -f "$h/.config/other"
	expect "dangerous files: the workspace is as it was (no placeholder left)" \
		'[ "$(snapshot "$WS")" = "$before_ws" ]'
	expect "dangerous files: \$HOME is as it was" '[ "$(snapshot "$h")" = "$before_h" ]'

	# $HOME as a writable root of its own: the same
	HOME=$h sbx --policy workspace-write --write "$h" -C "$WS" -- '
		echo evil >>"$HOME/.bashrc" 2>/dev/null && echo "wrote ~/.bashrc"
		echo evil >"$HOME/.zshrc" 2>/dev/null && echo "made ~/.zshrc"
		mkdir "$HOME/.claude" 2>/dev/null && echo "made ~/.claude"
		true'
	expect_stdout_eq "dangerous files: writable \$HOME keeps its shell and agent files" ""
	expect "dangerous files: \$HOME still as it was" '[ "$(snapshot "$h")" = "$before_h" ]'

	# --unprotect gives one name back for one run
	HOME=$h sbx --policy workspace-write --unprotect .envrc -C "$WS" -- \
		'echo "export B=2" >>.envrc && echo wrote'
	expect_stdout_eq "--unprotect .envrc: .envrc is writable" wrote
	expect_file_content "--unprotect .envrc: the host sees it" "$WS/.envrc" "$(printf 'export A=1\nexport B=2')"
	ab run --unprotect .nothing -- true
	expect_exit "--unprotect of a name that is not protected: refused" 125
	expect_stderr_contains "... and the message says so" "cannot unprotect '.nothing': it is not a protected name"

	HOME=$h ab explain --policy workspace-write -C "$WS"
	expect_stdout_contains "explain: each dangerous path and why" \
		"$WS/.claude"
	expect_stdout_contains "explain: ... the reason" "agent configuration and hooks (Claude Code)"
	expect_stdout_contains "explain: ... in \$HOME" "$h/.zshrc"
}

# The same on Landlock (no mounts): a missing name is kept uncreatable by
# refusing creation directly in the directory that would hold it (the
# narrowing of landlock_rules.c, which explain lists); an existing one
# gets read-only rules.
case_dangerous_files_landlock() {
	landlock_case "landlock dangerous files" || return 0
	new_ws
	echo 'export A=1' >"$WS/.envrc"
	mkdir "$WS/.vscode" "$WS/sub"
	echo '{}' >"$WS/.vscode/tasks.json"
	local before
	before=$(snapshot "$WS")
	sbx --backend landlock --policy workspace-write -C "$WS" -- '
		echo evil >>.envrc 2>/dev/null && echo "wrote .envrc"
		echo evil >.vscode/tasks.json 2>/dev/null && echo "wrote tasks.json"
		for d in .claude .codex .cursor .gemini .idea; do
			mkdir "$d" 2>/dev/null && echo "made $d"
		done
		echo "{}" >.mcp.json 2>/dev/null && echo "made .mcp.json"
		echo "[x]" >.gitmodules 2>/dev/null && echo "made .gitmodules"
		echo ok >sub/f && echo "sub writable"'
	expect_exit "landlock: the run works" 0
	expect_stdout_eq "landlock: no dangerous file written or created" "sub writable"
	rm -f "$WS/sub/f"
	expect "landlock: the workspace is as it was" '[ "$(snapshot "$WS")" = "$before" ]'
	ab explain --backend landlock --policy workspace-write -C "$WS"
	expect "landlock: explain says what is narrowed in the workspace root" \
		'grep -q "refused: .*$WS" <<<"$OUT"'
}

# A missing protected name that is a file where it exists (shell start-up
# files, .gitconfig, .gitmodules, .envrc, .mcp.json) is blocked as an
# empty read-only file: its readers take an empty file for an empty
# configuration, while a directory there made bash, git and direnv print
# "Is a directory" on every start.
case_missing_dangerous_files_blocked_as_files() {
	new_ws
	local h=$CASE_DIR/home
	mkdir -p "$h"
	HOME=$h sbx --policy workspace-write -C "$WS" -- '
		for f in "$HOME/.bashrc" "$HOME/.profile" "$HOME/.zshrc" "$HOME/.gitconfig" "$HOME/.envrc" \
			.gitmodules .envrc .mcp.json; do
			if [ -f "$f" ] && [ ! -s "$f" ]; then :; else echo "not an empty file: $f"; fi
			echo evil >>"$f" 2>/dev/null && echo "wrote $f"
		done
		for d in .vscode .claude; do [ -d "$d" ] || echo "not a directory: $d"; done
		bash -ic "echo interactive" 2>&1 | grep -i "is a directory"
		git config --global --list 2>&1 | grep -i "fatal\|unable\|directory"
		true'
	expect_exit "the run works" 0
	expect_stdout_eq "files are empty read-only files, directories stay directories; bash and git start cleanly" ""
}
