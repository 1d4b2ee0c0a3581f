# agentbox doctor: the real probes on this host, then real failures
# brought about on this machine (a namespace limit of 0, a seccomp filter
# against user namespaces, no bwrap) and the cause doctor names for each.
#
# doctor checks the host, not a backend, so its cases run only in the
# builtin pass (as root and as uid 65534), not once per backend variant.

doctor_pass() {
	[ "$BACKEND" = builtin ] && [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" != 1 ]
}

# The seccomp helper is installed next to the probe by run.sh.
deny_userns_path() {
	local d=${DENY_USERNS:-$(dirname "$PROBE")/deny_userns}
	[ -x "$d" ] && echo "$d"
}

# doctor_line ITEM: the item's line of the text table ("name  state  value").
doctor_line() {
	grep -E "^$1 +(ok|warn|fail|info) " <<<"$OUT"
}

# doctor_fix ITEM: the fix line printed under the item, if any.
doctor_fix() {
	grep -A1 -E "^$1 +(ok|warn|fail|info) " <<<"$OUT" | sed -n '2p' | grep -E '^ +fix: '
}

case_doctor_this_host() {
	doctor_pass || return 0
	ab doctor
	expect_exit "doctor exits 0: a full-strength sandbox is available here" 0
	expect "user namespaces are ok" '[[ "$(doctor_line "user namespaces")" == *" ok "* ]]'
	expect "the built-in engine can start" '[[ "$(doctor_line "builtin engine")" == *" ok "* ]]'
	expect "pid, ipc, uts and net namespaces are ok" \
		'[[ "$(doctor_line "other namespaces")" == *"ok     pid, ipc, uts, net" ]]'
	expect "the kernel release is the one uname reports" \
		'[[ "$(doctor_line kernel)" == *"$(uname -r)"* ]]'
	expect "seccomp filters can be loaded" '[[ "$(doctor_line seccomp)" == *" ok "* ]]'
	if [ -x /usr/bin/bwrap ]; then
		expect "bwrap is found, with its version" \
			'[[ "$(doctor_line bwrap)" == *"/usr/bin/bwrap $(bwrap --version | sed "s/^bubblewrap //")"* ]]'
	fi
	expect_stdout_contains "auto would choose the built-in engine" "auto backend: builtin"
	expect_stdout_contains "and says the sandbox is full-strength" "full-strength sandbox: yes (exit 0)"
	expect "no fix is offered for an ok item" \
		'[ -z "$(doctor_fix "user namespaces")" ] && [ -z "$(doctor_fix "builtin engine")" ]'

	ab doctor --json
	expect_exit "doctor --json exits 0" 0
	expect_stdout_contains "JSON names the auto backend" '"auto_backend":"builtin"'
	expect_stdout_contains "JSON says full strength" '"full_strength":true'
	expect_stdout_contains "JSON item for user namespaces" \
		'{"name":"user namespaces","state":"ok"'
	if command -v jq >/dev/null; then
		expect "the JSON parses, every item has name/state/value/fix" \
			'jq -e "(.items | length > 5) and all(.items[]; has(\"name\") and has(\"state\") and has(\"value\") and has(\"fix\")) and (.posture | length > 0)" <<<"$OUT" >/dev/null'
	fi

	ab doctor --bogus
	expect_exit "an unknown doctor option fails with 125" 125
	expect_stderr_contains "and names the option" "unknown option '--bogus'"
}

# user.max_user_namespaces is per user namespace: set to 0 inside one,
# it forbids creating any further one there.
case_doctor_max_user_namespaces_zero() {
	doctor_pass || return 0
	abx unshare --user --map-root-user /bin/sh -c \
		'echo 0 >/proc/sys/user/max_user_namespaces && exec "$0" doctor' "$AGENTBOX"
	expect "exit status 1 or 2: no namespace sandbox" '[ "$RC" = 1 ] || [ "$RC" = 2 ]'
	expect "user namespaces fail and the cause is named" \
		'[[ "$(doctor_line "user namespaces")" == *"fail"*"No space left on device"*"user.max_user_namespaces is 0"* ]]'
	expect "the fix raises the sysctl" \
		'[[ "$(doctor_fix "user namespaces")" == *"sysctl -w user.max_user_namespaces="* ]]'
	expect "the built-in engine is reported unable to start" \
		'[[ "$(doctor_line "builtin engine")" == *fail* ]]'
	expect_stdout_contains "not full strength" "full-strength sandbox: no"
	if [ "$RC" = 1 ]; then
		expect_stdout_contains "exit 1 means Landlock is what is left" "auto backend: landlock"
	fi
}

case_doctor_seccomp_denies_userns() {
	doctor_pass || return 0
	local deny
	if ! deny=$(deny_userns_path); then
		skip "seccomp filter against user namespaces" \
			"deny_userns is not installed next to the probe (run.sh copies it next to agentbox)"
		return
	fi
	abx "$deny" "$AGENTBOX" doctor
	expect "exit status 1 or 2: no namespace sandbox" '[ "$RC" = 1 ] || [ "$RC" = 2 ]'
	expect "the cause is a seccomp filter that was there before agentbox" \
		'[[ "$(doctor_line "user namespaces")" == *"Operation not permitted"*"seccomp filter installed before agentbox started"* ]]'
	expect "the fix names the container's seccomp profile" \
		'[[ "$(doctor_fix "user namespaces")" == *"seccomp=unconfined"* ]]'
	expect "bwrap is reported unable to create its namespaces" \
		'[ ! -x /usr/bin/bwrap ] || [[ "$(doctor_line bwrap)" == *"warn"*"trial sandbox failed"* ]]'
	expect "the inherited filter is listed" \
		'[[ "$(doctor_line seccomp)" == *"1 filter already on agentbox itself"* ]]'
	if [ "$RC" = 1 ]; then
		expect "Landlock only: doctor says what the user will notice" \
			'[[ "$(doctor_line "landlock only")" == *"warn"*"nothing can be created, removed or renamed directly in a writable root that holds .git"*"no network proxy"*"no PID namespace"* ]]'
		expect "and how to get the full posture on this host" \
			'[[ "$(doctor_fix "landlock only")" == *"for the full posture: "*"seccomp=unconfined"* ]]'
	fi

	abx "$deny" "$AGENTBOX" doctor --json
	expect_stdout_contains "JSON says not full strength" '"full_strength":false'
}

# bwrap_locate looks at /usr/bin/bwrap first, then PATH: cover the one and
# empty the other.
case_doctor_without_bwrap() {
	doctor_pass || return 0
	mkdir -m 0755 "$CASE_DIR/emptybin"
	abx unshare --user --map-root-user --mount /bin/sh -c \
		'if [ -e /usr/bin/bwrap ]; then mount --bind /dev/null /usr/bin/bwrap || exit 99; fi
		 PATH=$1 exec "$0" doctor' "$AGENTBOX" "$CASE_DIR/emptybin"
	expect_exit "doctor still exits 0: the built-in engine needs no bwrap" 0
	expect "bwrap is reported missing" '[[ "$(doctor_line bwrap)" == *"warn   missing: "* ]]'
	expect "with the apt-get fix" '[[ "$(doctor_fix bwrap)" == *"apt-get install bubblewrap"* ]]'
}
