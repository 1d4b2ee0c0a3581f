# Host conditions agentbox must cope with on its own.

# Inside another sandbox whose /proc has covered parts (here an outer bwrap
# that binds /proc/sys over its own /proc), the kernel refuses a fresh
# /proc mount in a nested user namespace. agentbox retries without one,
# says so, and announces the posture really in effect.
case_proc_mount_forbidden_retries_without_proc() {
	if ! command -v bwrap >/dev/null; then
		skip "nested /proc retry" "bwrap is not on PATH"
		return
	fi
	new_ws
	abx bwrap --dev-bind / / --unshare-user --unshare-pid --proc /proc \
		--ro-bind /proc/sys /proc/sys -- \
		/bin/sh -c 'exec "$0" run --events-fd 3 -C "$1" -- /bin/sh -c "echo inner-ran" 3>&2' \
		"$AGENTBOX" "$WS"
	expect_exit "the command ran, status 0" 0
	expect_stdout_contains "the command's output" inner-ran
	expect_stderr_contains "a proc_retry warning event" '"code":"proc_retry"'
	expect_stderr_contains "a one-line warning on stderr" 'agentbox: warning: this host does not allow mounting a fresh /proc'
	expect_stderr_contains "a second start event announces the weaker posture" '"proc":false'
	expect_stderr_contains "which is marked as a retry" '"retry":"no-proc"'
}
