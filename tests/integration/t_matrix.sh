# The host compatibility matrix: each host condition users meet (user
# namespaces refused by a limit, by a container's seccomp profile or by an
# outer bubblewrap; /proc not mountable; an old or missing bwrap; root
# without CAP_SYS_ADMIN; no Landlock) is brought about for real on this
# machine. Each case asserts the outcome: a posture that holds, proven by
# trying forbidden writes and connections from inside, or a named error
# with nothing run; never an unsandboxed run. Each also runs `agentbox
# doctor` there and checks that it names the cause.
#
# The conditions concern the host, not the backend variant of the pass, so
# the cases run only in the builtin variant (as root and as uid 65534).

matrix_pass() {
	[ "$BACKEND" = builtin ] && [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" != 1 ]
}

# A git workspace with an existing subdirectory (Landlock narrows the
# workspace's top level, not its existing subdirectories), an outside
# directory, and a TCP listener on the host's loopback.
matrix_setup() {
	# Under `unshare --map-root-user` every pass user is uid 0, whose
	# /tmp/agentbox-0 belongs to the real root: give agentbox a state
	# directory of its own, as $XDG_RUNTIME_DIR would on a desktop.
	mkdir -m 0700 "$CASE_DIR/xdg"
	export XDG_RUNTIME_DIR=$CASE_DIR/xdg
	new_ws
	git_q -C "$WS" init
	mkdir "$WS/sub"
	new_outside
	GIT_CONFIG_BEFORE=$(cat "$WS/.git/config")
	PORT=
	if [ -x /usr/bin/python3 ] && start_tcp_sink; then
		PORT=$SINK_PORT
	fi
}

# The command each sandboxed run executes: one line per attempt, "ok" or
# "refused", so one run proves the whole posture.
matrix_script() {
	cat <<EOF
if echo in >sub/written 2>/dev/null; then echo "ws-subdir ok"; else echo "ws-subdir refused"; fi
if echo x >'$OUTSIDE/escaped' 2>/dev/null; then echo "outside ok"; else echo "outside refused"; fi
if echo x >>.git/config 2>/dev/null; then echo "git ok"; else echo "git refused"; fi
if [ -n '$PORT' ]; then
	if /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 2)" 2>/dev/null
	then echo "tcp ok"; else echo "tcp refused"; fi
fi
EOF
}

# matrix_run LABEL PREFIX... -- AGENTBOX-ARGS...: runs the script in the
# sandbox, through PREFIX (the host condition; it must not contain "--"),
# with events on fd 3.
matrix_run() {
	local label=$1 prefix=() args=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		prefix+=("$1")
		shift
	done
	shift
	args=("$@")
	rm -f "$WS/sub/written"
	# --backend auto: the pass exports AGENTBOX_BACKEND for its variant.
	abx "${prefix[@]}" "$AGENTBOX" run --backend auto --events-fd 3 --policy workspace-write \
		-C "$WS" "${args[@]}" -- /bin/sh -c "$(matrix_script)" 3>"$CASE_DIR/events"
	EVENTS=$(cat "$CASE_DIR/events")
	MLABEL=$label
}

# The posture held: the command ran, wrote where the policy allows, and
# every forbidden write and connection was refused on the host's side too.
expect_posture_holds() {
	expect_exit "$MLABEL: the command ran" 0
	expect_stdout_contains "$MLABEL: a workspace subdirectory is writable" "ws-subdir ok"
	expect_file_content "$MLABEL: the host sees the write" "$WS/sub/written" in
	expect_stdout_contains "$MLABEL: outside the writable roots is refused" "outside refused"
	expect_absent "$MLABEL: nothing escaped" "$OUTSIDE/escaped"
	expect_stdout_contains "$MLABEL: .git stays read-only" "git refused"
	expect "$MLABEL: .git/config unchanged on the host" '[ "$(cat "$WS/.git/config")" = "$GIT_CONFIG_BEFORE" ]'
	if [ -n "$PORT" ]; then
		expect_stdout_contains "$MLABEL: no TCP to the host with --net none" "tcp refused"
	fi
}

expect_backend() {
	local want=$1
	expect "$MLABEL: the start event names the $want backend" \
		'grep -q "\"event\":\"start\",\"backend\":\"$want\"" <<<"$EVENTS"'
}

# The refusal when nothing can run: exit 125, a message, nothing ran.
expect_named_refusal() {
	expect_exit "$MLABEL: refused (nothing could enforce the policy)" 125
	expect_stdout_lacks "$MLABEL: the command did not run" "ws-subdir"
	expect_absent "$MLABEL: nothing was written" "$WS/sub/written"
	expect_stderr_contains "$MLABEL: the error says why" "$1"
}

doctor_names() {
	local label=$1 want=$2
	shift 2
	abx "$@" "$AGENTBOX" doctor
	expect_stdout_contains "$label: doctor names the cause" "$want"
}

case_matrix_userns_limit_zero() {
	matrix_pass || return 0
	matrix_setup
	local limit=(unshare --user --map-root-user /bin/sh -c
		'echo 0 >/proc/sys/user/max_user_namespaces && exec "$@"' sh)
	matrix_run "max_user_namespaces=0" "${limit[@]}" --
	expect_posture_holds
	expect_backend landlock
	expect_stderr_contains "the fallback is announced" "falling back to landlock"
	doctor_names "max_user_namespaces=0" "user.max_user_namespaces is 0" "${limit[@]}"
	expect "doctor: exit 1, only Landlock is left" '[ "$RC" = 1 ]'
}

case_matrix_seccomp_refuses_userns() {
	matrix_pass || return 0
	local deny
	deny=$(deny_tool) || { skip "seccomp against user namespaces" "deny_userns not installed next to the probe"; return; }
	matrix_setup
	matrix_run "container seccomp profile" "$deny" --
	expect_posture_holds
	expect_backend landlock
	# (what is narrowed depends on the broker: creation itself, or what
	# later opens of created entries get; t_landlock.sh tests each text)
	expect "$MLABEL: the narrowing of the workspace root is said at start" \
		'grep -q "^agentbox: landlock backend: .*$WS.*see \`agentbox explain\`$" <<<"$ERR"'
	doctor_names "container seccomp profile" "seccomp filter installed before agentbox started" "$deny"
	expect_stdout_contains "container seccomp profile: doctor says what the user will notice" \
		"landlock only     warn   what you will notice: nothing can be created, removed or renamed directly in a writable root that holds .git"
	expect_stdout_contains "container seccomp profile: and how to get the full posture" \
		"fix: for the full posture: run the container with a seccomp profile that allows unshare"

	matrix_run "container seccomp profile, --require userns" "$deny" -- --require userns
	expect_named_refusal "userns"

	# Without namespaces the proxy could be gone around: refused, with the
	# reason, rather than run with the host's network.
	matrix_run "container seccomp profile, --net proxy" "$deny" -- --net proxy --allow-domain example.com
	expect_exit "$MLABEL: refused" 125
	expect_stderr_contains "$MLABEL: the reason" "--net proxy needs a network namespace of its own"
	expect_absent "$MLABEL: nothing ran" "$WS/sub/written"
}

case_matrix_nested_in_bwrap_disable_userns() {
	matrix_pass || return 0
	[ -x /usr/bin/bwrap ] || { skip "nested bwrap" "no /usr/bin/bwrap"; return; }
	if ! /usr/bin/bwrap --help 2>&1 | grep -q -- --disable-userns; then
		skip "nested bwrap" "this bwrap has no --disable-userns"
		return
	fi
	matrix_setup
	local outer=(/usr/bin/bwrap --unshare-user --disable-userns --bind / / --dev /dev
		--proc /proc)
	matrix_run "inside bwrap --disable-userns" "${outer[@]}" --
	expect_posture_holds
	expect_backend landlock
	doctor_names "inside bwrap --disable-userns" "user.max_user_namespaces" "${outer[@]}"
}

case_matrix_proc_not_mountable() {
	matrix_pass || return 0
	matrix_setup
	# A /proc with a covered part cannot be mounted afresh in a child
	# namespace (the kernel refuses to reveal what is covered).
	local covered=(unshare --user --map-root-user --mount /bin/sh -c
		'mount -t tmpfs none /proc/sys && exec "$@"' sh)
	matrix_run "/proc not mountable" "${covered[@]}" --
	expect_posture_holds
	expect_backend builtin
	expect_stderr_contains "the missing /proc is announced" "does not allow mounting a fresh /proc"
	expect "the last start event says no fresh /proc" \
		'grep "\"event\":\"start\"" <<<"$EVENTS" | tail -n 1 | grep -q "\"proc\":false"'
	doctor_names "/proc not mountable" "covered by other mounts (/proc/sys)" "${covered[@]}"
	expect "doctor: the /proc item is not ok" 'grep -E "^/proc +(warn|fail) " <<<"$OUT" >/dev/null'
}

# A bwrap that predates --argv0 and --perms, put where agentbox looks first
# (/usr/bin/bwrap, in a private mount namespace); it hands every other
# command line to a copy of the real one.
fake_old_bwrap() {
	cp /usr/bin/bwrap "$CASE_DIR/real-bwrap"
	cat >"$CASE_DIR/old-bwrap" <<EOF
#!/bin/sh
for a in "\$@"; do
	case \$a in
	--argv0|--perms) echo "bwrap: Unknown option \$a" >&2; exit 1 ;;
	--help) "$CASE_DIR/real-bwrap" --help | grep -v -e --argv0 -e --perms; exit 0 ;;
	--version) echo "bubblewrap 0.4.0"; exit 0 ;;
	esac
done
exec "$CASE_DIR/real-bwrap" "\$@"
EOF
	chmod 0755 "$CASE_DIR/old-bwrap" "$CASE_DIR"
	OLD_BWRAP=(unshare --user --map-root-user --mount /bin/sh -c
		'mount --bind "$0" /usr/bin/bwrap && exec "$@"' "$CASE_DIR/old-bwrap")
}

case_matrix_old_bwrap() {
	matrix_pass || return 0
	[ -x /usr/bin/bwrap ] || { skip "old bwrap" "no /usr/bin/bwrap"; return; }
	matrix_setup
	fake_old_bwrap
	matrix_run "bwrap without --argv0/--perms" "${OLD_BWRAP[@]}" -- --backend bwrap
	expect_posture_holds
	expect_backend bwrap
	expect "$MLABEL: the start event shows the old version" \
		'grep -q "\"version\":\"0.4.0\"" <<<"$EVENTS"'
	doctor_names "old bwrap" "lacks: --argv0" "${OLD_BWRAP[@]}"
	expect "doctor lists --perms as missing too" '[[ "$OUT" == *"lacks: "*"--perms"* ]]'
}

case_matrix_no_bwrap() {
	matrix_pass || return 0
	matrix_setup
	mkdir -m 0755 "$CASE_DIR/emptybin"
	local nobwrap=(unshare --user --map-root-user --mount /bin/sh -c
		'if [ -e /usr/bin/bwrap ]; then mount --bind /dev/null /usr/bin/bwrap || exit 99; fi
		 PATH=$0 exec "$@"' "$CASE_DIR/emptybin")
	matrix_run "no bwrap" "${nobwrap[@]}" --
	expect_posture_holds
	expect_backend builtin
	matrix_run "no bwrap, --backend bwrap" "${nobwrap[@]}" -- --backend bwrap
	expect_named_refusal "bwrap"
	doctor_names "no bwrap" "apt-get install bubblewrap" "${nobwrap[@]}"
}

case_matrix_root_without_cap_sys_admin() {
	matrix_pass || return 0
	if [ "$(id -u)" != 0 ]; then
		skip "root without CAP_SYS_ADMIN" "needs root (this pass is uid $(id -u))"
		return
	fi
	matrix_setup
	local nocap=(setpriv --bounding-set -sys_admin --inh-caps -sys_admin)
	abx "${nocap[@]}" grep CapEff /proc/self/status
	expect "baseline: CAP_SYS_ADMIN (bit 21) is really gone" \
		'(( (0x$(awk "{print \$2}" <<<"$OUT") >> 21 & 1) == 0 ))'
	matrix_run "root without CAP_SYS_ADMIN" "${nocap[@]}" --
	expect_posture_holds
	expect_backend builtin
	doctor_names "root without CAP_SYS_ADMIN" "CAP_SYS_ADMIN no" "${nocap[@]}"
}

case_matrix_no_landlock() {
	matrix_pass || return 0
	local deny
	deny=$(deny_tool) || { skip "no Landlock" "deny_userns not installed next to the probe"; return; }
	matrix_setup
	matrix_run "no Landlock, namespaces fine" "$deny" --landlock-only --
	expect_posture_holds
	expect_backend builtin
	matrix_run "no Landlock, --backend landlock" "$deny" --landlock-only -- --backend landlock
	expect_named_refusal "no Landlock support"
	doctor_names "no Landlock" "landlock          warn   unavailable" "$deny" --landlock-only

	matrix_run "no Landlock and no user namespaces" "$deny" --landlock --
	expect_named_refusal "no backend could run"
	doctor_names "nothing available" "full-strength sandbox: no (exit 2)" "$deny" --landlock
	expect "doctor: exit 2, no sandbox at all" '[ "$RC" = 2 ]'
}
