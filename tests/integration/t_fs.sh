# Filesystem views: what is readable, what is writable, and that writes
# land on (or stay off) the host.

case_root_is_readable() {
	ab run -- ls /bin
	expect_exit "ls /bin exits 0" 0
	expect "ls /bin lists sh" 'grep -qx sh <<<"$OUT"'
	ab run -- cat /etc/hostname
	expect_stdout_eq "/etc/hostname reads as on the host" "$(cat /etc/hostname)"
}

case_writes_outside_workspace_fail() {
	new_ws
	new_outside
	echo orig >"$OUTSIDE/file"
	# The sandbox, not host permissions, must be what stops these writes.
	expect "host permissions would allow writing $OUTSIDE" \
		'[ -w "$OUTSIDE" ] && [ -w "$OUTSIDE/file" ]'

	sbx --policy workspace-write -C "$WS" -- "echo changed > $OUTSIDE/file"
	expect_nonzero "workspace-write: overwriting a file outside the workspace fails"
	expect_stderr_contains "workspace-write: the failure is EROFS" "Read-only file system"
	expect_file_content "workspace-write: host file untouched" "$OUTSIDE/file" orig

	sbx --policy workspace-write -C "$WS" -- "touch $OUTSIDE/new"
	expect_nonzero "workspace-write: creating a file outside the workspace fails"
	expect_absent "workspace-write: nothing created outside" "$OUTSIDE/new"

	sbx --policy read-only -C "$WS" -- "echo x > $WS/f"
	expect_nonzero "read-only: writing the workspace fails"
	expect_stderr_contains "read-only: the failure is EROFS" "Read-only file system"
	expect_absent "read-only: nothing created in the workspace" "$WS/f"

	# /tmp is writable only through workspace-write's :slash_tmp.
	sbx -C "$WS" -- "touch $CASE_DIR/in-tmp"
	expect_nonzero "default policy: writing under /tmp fails"
	expect_absent "default policy: nothing created under /tmp" "$CASE_DIR/in-tmp"

	sbx --policy full-access -C "$WS" -- "echo full > $OUTSIDE/file"
	expect_exit "full-access: writing outside the workspace works" 0
	expect_file_content "full-access: the write reached the host" "$OUTSIDE/file" full
}

case_dev_nodes() {
	sbx -- 'for n in null zero full random urandom tty; do
			[ -c /dev/$n ] || echo "not a char device: /dev/$n"
		done
		echo x > /dev/null && echo null-ok
		head -c 3 /dev/zero | tr "\0" z; echo
		head -c 8 /dev/urandom | wc -c
		(echo x > /dev/full) 2>/dev/null || echo full-fails'
	expect_exit "device script exits 0" 0
	expect_stdout_eq "null zero full random urandom tty are usable char devices" \
		"$(printf 'null-ok\nzzz\n8\nfull-fails')"
}

case_writable_roots_reach_host() {
	new_ws
	sbx --policy workspace-write -C "$WS" -- \
		'echo hello > new.txt && mkdir sub && echo deep > sub/f'
	expect_exit "workspace-write: writing the cwd works" 0
	expect_file_content "workspace-write: new file visible on host" "$WS/new.txt" hello
	expect_file_content "workspace-write: nested file visible on host" "$WS/sub/f" deep

	sbx --policy workspace-write -C "$WS" -- "echo t > $CASE_DIR/slash-tmp"
	expect_exit "workspace-write: /tmp (:slash_tmp) is writable" 0
	expect_file_content "workspace-write: /tmp write visible on host" "$CASE_DIR/slash-tmp" t

	sbx --policy workspace-write -C "$WS" -- "echo t > $PASS_DIR/tmp/tmpdir-file"
	expect_exit "workspace-write: \$TMPDIR (:tmpdir) is writable" 0
	expect_file_content "workspace-write: \$TMPDIR write visible on host" \
		"$PASS_DIR/tmp/tmpdir-file" t

	new_outside
	sbx --policy read-only --write "$OUTSIDE" -C "$WS" -- "echo w > $OUTSIDE/w"
	expect_exit "--write DIR makes DIR writable under read-only" 0
	expect_file_content "--write DIR: write visible on host" "$OUTSIDE/w" w

	mkdir "$WS/rel"
	sbx --policy read-only --write rel -C "$WS" -- 'echo r > rel/f; touch other'
	expect_exit "--write with a relative path is relative to -C (other stays read-only)" 1
	expect_file_content "relative --write: write visible on host" "$WS/rel/f" r
	expect_absent "relative --write: sibling not writable" "$WS/other"
}

case_missing_writable_root_skipped_with_warning() {
	if ! command -v jq >/dev/null; then
		skip "missing writable root event" "jq is not installed"
		return
	fi
	new_ws
	local missing=$WS/not-there ev=$CASE_DIR/events
	abx sh -c '"$1" run --policy read-only --write "$2" -C "$3" --events-fd 3 -- true 3>"$4"' \
		sh "$AGENTBOX" "$missing" "$WS" "$ev"
	expect_exit "run with a missing writable root still runs" 0
	expect_stderr_matches "stderr has an 'agentbox: warning:' line naming the path" \
		"^agentbox: warning:.*not-there"
	expect "events have a missing_writable_root warning" \
		'jq -e -s "any(.[]; .event == \"warning\" and .code == \"missing_writable_root\")" "$ev" >/dev/null'
	expect_absent "the missing root is not created on the host" "$missing"
}

case_events_stream() {
	if ! command -v jq >/dev/null; then
		skip "events stream" "jq is not installed"
		return
	fi
	local ev=$CASE_DIR/events
	abx sh -c '"$1" run --events-fd 3 -- sh -c "exit 7" 3>"$2"' sh "$AGENTBOX" "$ev"
	expect_exit "run with --events-fd keeps the command's status" 7
	expect "every events line is JSON" 'jq -e . "$ev" >/dev/null'
	expect "first event is start with backend $BACKEND" \
		'jq -e -s --arg b "$BACKEND" ".[0].event == \"start\" and .[0].backend == \$b" "$ev" >/dev/null'
	expect "last event is exit with status 7" \
		'jq -e -s ".[-1].event == \"exit\" and .[-1].status == 7" "$ev" >/dev/null'
}

case_symlinked_cwd_runs_in_canonical_path() {
	new_ws
	mkdir "$WS/real"
	ln -s real "$WS/link"
	sbx --policy workspace-write -C "$WS/link" -- 'pwd -P; echo x > made-here'
	expect_exit "run in a symlinked -C dir exits 0" 0
	expect_stdout_eq "pwd -P prints the target" "$WS/real"
	expect_file_content "writes land in the target" "$WS/real/made-here" x
}

case_nested_reopen_under_denied_parent() {
	new_ws
	mkdir -p "$WS/a/b"
	echo SECRET-A >"$WS/a/secret"
	echo in-b >"$WS/a/b/f"
	local p=(--policy read-only --write "$WS" --deny "$WS/a" --write "$WS/a/b" -C "$WS")

	sbx "${p[@]}" -- 'cat a/secret'
	expect_nonzero "denied parent: reading a file in it fails"
	expect_stdout_lacks "denied parent: content not shown" SECRET-A
	sbx "${p[@]}" -- 'ls -A a'
	expect_stdout_lacks "denied parent: listing does not show its files" secret
	sbx "${p[@]}" -- 'touch a/new'
	expect_nonzero "denied parent: creating a file in it fails"
	expect_absent "denied parent: nothing created on host" "$WS/a/new"

	sbx "${p[@]}" -- 'cat a/b/f && echo w > a/b/new'
	expect_exit "reopened child: readable and writable" 0
	expect_stdout_eq "reopened child: content readable" in-b
	expect_file_content "reopened child: write visible on host" "$WS/a/b/new" w

	sbx "${p[@]}" -- 'echo top > top'
	expect_exit "writable grandparent still writable" 0

	# Same policy with paths relative to -C.
	sbx --policy read-only --write . --deny a --write a/b -C "$WS" -- \
		'cat a/secret; echo r > a/b/rel'
	expect_stdout_lacks "relative paths: denied parent unreadable" SECRET-A
	expect_file_content "relative paths: reopened child writable" "$WS/a/b/rel" r
}

case_deny_carve_outs() {
	new_ws
	echo SECRET-FILE >"$WS/secret.txt"
	mkdir "$WS/private"
	echo SECRET-DIR >"$WS/private/k"
	local p=(--policy workspace-write -C "$WS" --deny "$WS/secret.txt" --deny "$WS/private")

	sbx "${p[@]}" -- 'cat secret.txt'
	expect_nonzero "denied file: reading fails"
	expect_stdout_lacks "denied file: content not shown" SECRET-FILE
	sbx "${p[@]}" -- 'cat private/k'
	expect_nonzero "denied dir: reading a file in it fails"
	expect_stdout_lacks "denied dir: content not shown" SECRET-DIR
	sbx "${p[@]}" -- 'echo x > secret.txt'
	expect_nonzero "denied file: writing fails"
	expect_file_content "denied file: host content unchanged" "$WS/secret.txt" SECRET-FILE
	sbx "${p[@]}" -- 'echo x > private/k'
	expect_nonzero "denied dir: overwriting a file in it fails"
	expect_file_content "denied dir: host content unchanged" "$WS/private/k" SECRET-DIR
	sbx "${p[@]}" -- 'touch private/new'
	expect_nonzero "denied dir: creating a file in it fails"
	expect_absent "denied dir: nothing created on host" "$WS/private/new"
	sbx "${p[@]}" -- 'echo ok > public'
	expect_exit "rest of the workspace writable" 0
	expect_file_content "rest of the workspace: write visible" "$WS/public" ok
}

case_read_rule_under_writable_root() {
	new_ws
	mkdir "$WS/docs"
	echo doc >"$WS/docs/d"
	sbx --policy workspace-write -C "$WS" --read "$WS/docs" -- 'echo x > docs/d'
	expect_nonzero "read child of writable root: overwrite fails"
	expect_stderr_contains "read child: the failure is EROFS" "Read-only file system"
	expect_file_content "read child: host content unchanged" "$WS/docs/d" doc
	sbx --policy workspace-write -C "$WS" --read "$WS/docs" -- 'touch docs/new'
	expect_nonzero "read child: creating a file fails"
	expect_absent "read child: nothing created" "$WS/docs/new"
	sbx --policy workspace-write -C "$WS" --read "$WS/docs" -- 'cat docs/d; echo y > other'
	expect_exit "read child readable, parent writable" 0
	expect_stdout_eq "read child content" doc

	# Equal paths: the later rule wins.
	sbx --policy read-only --write "$WS/docs" --read "$WS/docs" -- "touch $WS/docs/l1"
	expect_absent "equal paths, write then read: read wins" "$WS/docs/l1"
	sbx --policy read-only --read "$WS/docs" --write "$WS/docs" -- "touch $WS/docs/l2"
	expect_exit "equal paths, read then write: write wins" 0
	expect "equal paths, read then write: file created" '[ -f "$WS/docs/l2" ]'
}

case_restricted_read_without_root() {
	new_ws
	local pf=$CASE_DIR/policy.json hidden=() d
	cat >"$pf" <<-'EOF'
	{"version": 1,
	 "filesystem": {":minimal": "read", ":cwd": "write"}}
	EOF
	echo sib >"$CASE_DIR/sibling"
	for d in /home /root /opt /srv /mnt /var/tmp "$CASE_DIR/sibling" "$PASS_DIR/home"; do
		[ -e "$d" ] && hidden+=("$d")
	done
	sbx --policy-file "$pf" -C "$WS" -- "
		for d in ${hidden[*]}; do [ -e \$d ] && echo visible \$d; done
		echo data > in-ws && cat in-ws
		ls /usr/bin/env >/dev/null && echo usr-ok"
	expect_exit "restricted read: command runs" 0
	expect_stdout_eq "restricted read: only the listed roots are visible (${hidden[*]} hidden)" \
		"$(printf 'data\nusr-ok')"
	expect_file_content "restricted read: workspace write visible on host" "$WS/in-ws" data
}

case_policy_file_paths() {
	new_ws
	mkdir -p "$WS/docs" "$PASS_DIR/home/proj"
	# outside /tmp: a policy file the run makes writable is refused
	new_outside
	local pf=$OUTSIDE/p.json
	cat >"$pf" <<-EOF
	{"version": 1, "preset": "workspace-write",
	 "filesystem": {"$WS/docs": "read", "~/proj": "write"},
	 "network": {"mode": "none"}}
	EOF
	sbx --policy-file "$pf" -C "$WS" -- "touch docs/x"
	expect_nonzero "policy file: read entry under writable cwd is read-only"
	expect_absent "policy file: nothing created under the read entry" "$WS/docs/x"
	sbx --policy-file "$pf" -C "$WS" -- 'echo h > ~/proj/h && echo "$AGENTBOX_NETWORK"'
	expect_exit "policy file: ~/proj entry is writable" 0
	expect_file_content "policy file: ~/proj write visible on host" "$PASS_DIR/home/proj/h" h
	expect_stdout_eq "policy file: network none" none
}
