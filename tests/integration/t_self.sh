# agentbox's own binary: run from a place the sandbox could write, it
# refuses (exit 125) unless --allow-writable-self; a copy in a read-only
# sub-path of the workspace runs; a read-only copy in a directory the
# sandbox could rename away is refused. The copies live in a workspace
# under /var/tmp ($OUTSIDE), so that only the rules of each case make them
# writable (workspace-write makes all of /tmp writable).

# self_copy REL: a copy of the agentbox under test at $OUTSIDE/REL; sets
# SELF.
self_copy() {
	SELF=$OUTSIDE/$1
	mkdir -p "$(dirname "$SELF")"
	cp "$AGENTBOX" "$SELF"
}

case_self_in_workspace_is_refused() {
	new_outside
	self_copy agentbox
	local b
	# The check comes before any backend is set up, so Landlock refuses
	# the same way (also on a kernel without it).
	for b in "$BACKEND" landlock; do
		abx "$SELF" run --backend "$b" --policy workspace-write -C "$OUTSIDE" -- sh -c 'echo ran >ran'
		expect_exit "--backend $b: a copy in the workspace refuses to run" 125
		expect_stderr_contains "--backend $b: the message names the executable and the writable root" \
			"agentbox's own executable $SELF is writable inside the sandbox (writable root $OUTSIDE, from preset workspace-write (:cwd))"
		expect_stderr_contains "--backend $b: the message gives the fix" \
			"fix: install agentbox outside the workspace and every writable root (e.g. \`sudo make install\`, or copy it to /usr/local/bin)"
		expect_stderr_contains "--backend $b: the message names the flag" "--allow-writable-self"
		expect_absent "--backend $b: nothing ran" "$OUTSIDE/ran"
	done

	abx "$SELF" run -C "$OUTSIDE" -- sh -c 'echo ran'
	expect_exit "read-only policy: the same copy runs" 0
	expect "read-only policy: no warning" '[ -z "$(stderr_but_backend_note)" ]'

	abx "$SELF" explain --policy workspace-write -C "$OUTSIDE"
	expect_exit "explain shows the refusal without running" 0
	expect_stdout_contains "explain: self: refused, naming the executable" \
		"self: refused: agentbox's own executable $SELF is writable inside the sandbox"
	abx "$SELF" explain --json --policy workspace-write -C "$OUTSIDE"
	expect "explain --json: .self says refused, with the writable root and its rule" \
		'jq -e --arg p "$SELF" --arg r "$OUTSIDE" ".self.path == \$p and .self.writable == true and .self.verdict == \"refused\" and .self.writable_root == \$r and .self.rule == \"preset workspace-write (:cwd)\"" <<<"$OUT" >/dev/null'

	# The suite's own copy (run.sh installs it outside /tmp) is fine.
	ab explain --json --policy workspace-write -C "$OUTSIDE"
	expect "explain --json: the suite's copy is not writable inside" \
		'jq -e ".self.verdict == \"not-writable\" and .self.writable == false and .posture.self.writable == false" <<<"$OUT" >/dev/null'
}

case_self_allow_writable_self() {
	new_outside
	self_copy agentbox
	local ev=$CASE_DIR/ev.json
	abx sh -c '"$1" run --allow-writable-self --policy workspace-write -C "$2" --events-fd 3 -- sh -c "echo ran >ran" 3>"$3"' \
		sh "$SELF" "$OUTSIDE" "$ev"
	expect_exit "--allow-writable-self: it runs" 0
	expect_file_content "the command ran" "$OUTSIDE/ran" ran
	expect_stderr_matches "a warning line says agentbox is writable inside, accepted by the flag" \
		"^agentbox: warning: agentbox's own executable .* is writable inside the sandbox.*running anyway \(--allow-writable-self\)"
	expect "events: a writable_self warning" \
		'jq -e -s "any(.[]; .event == \"warning\" and .code == \"writable_self\")" "$ev" >/dev/null'
	expect "start event: the posture records the writable executable" \
		'jq -e -s --arg p "$SELF" "[.[] | select(.event == \"start\")][-1].posture.self | .path == \$p and .writable == true and .verdict == \"accepted\" and .accepted_by == \"--allow-writable-self\"" "$ev" >/dev/null'

	abx "$SELF" explain --allow-writable-self --policy workspace-write -C "$OUTSIDE"
	expect_stdout_contains "explain: accepted by the flag" "self: writable, accepted (--allow-writable-self)"
	abx "$SELF" explain --json --allow-writable-self --policy workspace-write -C "$OUTSIDE"
	expect "explain --json: accepted, in .self and in the posture" \
		'jq -e ".self.verdict == \"accepted\" and .posture.self.accepted_by == \"--allow-writable-self\"" <<<"$OUT" >/dev/null'

	abx "$SELF" run -q --allow-writable-self --policy workspace-write -C "$OUTSIDE" -- true
	expect "-q: no warning line" '[ -z "$(stderr_but_backend_note)" ]'
}

# A policy file's read rule keeps the copy's directory read-only inside
# the writable workspace: a mountpoint of its own, which the command can
# neither write nor rename away.
case_self_in_read_only_sub_path_runs() {
	new_outside
	self_copy tools/bin/agentbox
	# in the read-only sub-path itself: a policy file the run could write
	# (here anywhere in /tmp) is refused (issue #14)
	local pf=$OUTSIDE/tools/policy.json
	printf '{"version": 1, "preset": "workspace-write", "filesystem": {"%s": "read"}}\n' \
		"$OUTSIDE/tools" >"$pf"
	abx "$SELF" run --policy-file "$pf" -C "$OUTSIDE" -- sh -c '
		echo ran
		mv tools tools.old 2>/dev/null && echo moved
		cp /bin/true tools/bin/agentbox 2>/dev/null && echo replaced
		echo w >w'
	expect_exit "a copy in a read-only sub-path runs" 0
	expect_stdout_eq "the command could neither move nor replace it" ran
	expect "no warning" '[ -z "$(stderr_but_backend_note)" ]'
	expect "the copy is unchanged on the host" 'cmp -s "$AGENTBOX" "$SELF"'
	expect_file_content "the rest of the workspace is writable" "$OUTSIDE/w" w
	abx "$SELF" explain --policy-file "$pf" -C "$OUTSIDE"
	expect_stdout_contains "explain: out of the sandbox's reach" "self: $SELF is out of the sandbox's reach"

	# Landlock mounts nothing; it keeps the sub-path by taking the right
	# to remove entries from the workspace (once per pass identity: it
	# names its backend itself).
	if [ "$BACKEND" != builtin ] || [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" = 1 ]; then
		return
	fi
	if "$AGENTBOX" explain --backend landlock 2>&1 | grep -q "landlock unavailable"; then
		skip "--backend landlock: a copy in a read-only sub-path runs" "this kernel has no usable Landlock"
		return
	fi
	abx "$SELF" run --backend landlock --policy-file "$pf" -C "$OUTSIDE" -- sh -c '
		echo ran
		mv tools tools.old 2>/dev/null && echo moved
		cp /bin/true tools/bin/agentbox 2>/dev/null && echo replaced
		exit 0'
	expect_exit "--backend landlock: a copy in a read-only sub-path runs" 0
	expect_stdout_eq "--backend landlock: the command could neither move nor replace it" ran
	# the one line every narrowed Landlock run prints (README, "Landlock
	# backend") and nothing else: no warning about agentbox itself
	expect "--backend landlock: no warning (only the narrowing notice)" \
		'[ -z "$(grep -v "^agentbox: landlock backend: .* see \`agentbox explain\`$" <<<"$ERR")" ]'
	expect "--backend landlock: the copy is unchanged on the host" 'cmp -s "$AGENTBOX" "$SELF"'
}

# The file is read-only and its directory an entry of the writable
# workspace: without pins the command could rename the directory away and
# put another agentbox at the same path.
case_self_read_only_copy_below_a_pinned_directory_runs() {
	new_outside
	self_copy sub/agentbox
	local ro=(--policy workspace-write --read "$OUTSIDE/sub/agentbox" -C "$OUTSIDE")
	# Before pins (#12), sub could be renamed away and rebuilt with another
	# agentbox, so this was refused; now sub is bound onto itself (a pin,
	# plan/pin.c) and the rename fails, so the copy is safe to run.
	abx "$SELF" explain "${ro[@]}"
	expect_stdout_contains "explain: sub is pinned" "pin                  $OUTSIDE/sub"
	abx "$SELF" run "${ro[@]}" -- sh -c '
		(echo x >sub/agentbox) 2>/dev/null && echo wrote-file
		mv sub sub.old 2>/dev/null || echo mv-refused
		rmdir sub 2>/dev/null || echo rmdir-refused'
	expect_exit "a read-only copy below a pinned directory runs" 0
	expect_stdout_eq "neither the file nor its directory can be replaced" "$(printf 'mv-refused\nrmdir-refused')"
	expect "the host's copy is unchanged" 'cmp -s "$AGENTBOX" "$SELF"'
	expect_absent "nothing moved" "$OUTSIDE/sub.old"
}

case_self_second_hard_link_is_refused() {
	new_outside
	self_copy bin/agentbox
	ln "$SELF" "$OUTSIDE/link"
	abx "$SELF" run --policy workspace-write --read "$OUTSIDE/bin" -C "$OUTSIDE" -- sh -c 'echo ran >ran'
	expect_exit "a copy with a second name in the workspace is refused" 125
	expect_stderr_contains "the message says why" \
		"agentbox's own executable $SELF has 2 hard links on a writable filesystem"
	expect_absent "nothing ran" "$OUTSIDE/ran"
	rm "$OUTSIDE/link"
	abx "$SELF" run --policy workspace-write --read "$OUTSIDE/bin" -C "$OUTSIDE" -- true
	expect_exit "with one name again it runs" 0
}

# A /proc that is not procfs could name any file as agentbox's executable
# (here /bin/true, which no policy makes writable): the check does not
# trust it and refuses, whatever the backend would have said.
case_self_fake_proc_is_not_trusted() {
	new_outside
	self_copy agentbox
	local xdg=$CASE_DIR/xdg ns=(unshare --mount --propagation private)
	[ "$(id -u)" = 0 ] || ns=(unshare --user --map-root-user --mount)
	mkdir -m 0700 "$xdg"
	abx env XDG_RUNTIME_DIR="$xdg" "${ns[@]}" sh -c '
		mount -t tmpfs tmpfs /proc && mkdir /proc/self && ln -s /bin/true /proc/self/exe &&
		exec "$1" run --backend "$2" --policy workspace-write -C "$3" -- sh -c "echo ran >ran"' \
		sh "$SELF" "$BACKEND" "$OUTSIDE"
	expect_exit "a fake /proc: refused" 125
	expect_stderr_contains "the message says /proc is not procfs" \
		"/proc is not a procfs mount, so it cannot say where agentbox's own executable is"
	expect_stderr_contains "the message gives the fix" "fix: run agentbox with procfs mounted on /proc"
	expect_absent "nothing ran" "$OUTSIDE/ran"
}
