# The kernel's knobs (/proc/sys, /proc/sysrq-trigger, ... and /sys) stay
# read-only in every /proc mode: a fresh /proc, --no-proc (the host's
# /proc), and the automatic retry without a fresh /proc. Root keeps uid 0
# inside, and a sysctl checks only its mode bits: before #12, root under
# full-access with --no-proc could open kernel.core_pattern for writing.
#
# The probe opens each file O_WRONLY and closes it again: it never writes,
# so a regression fails the test without changing the host.

# knob_probe: writes the probe script into $CASE_DIR; sets KP.
knob_probe() {
	KP=$CASE_DIR/knobprobe.py
	cat >"$KP" <<'PY'
import errno, os, sys
for p in sys.argv[1:]:
    try:
        fd = os.open(p, os.O_WRONLY | os.O_NOCTTY)
    except OSError as e:
        print(p, errno.errorcode.get(e.errno, e.errno))
        continue
    os.close(fd)  # opened: the test fails; nothing was written
    print(p, "OPENED")
PY
}

# The knobs this host has, among those a root command would aim at.
knob_paths() {
	local p
	for p in /proc/sys/kernel/core_pattern /proc/sys/kernel/hostname /proc/sys/vm/drop_caches \
		/proc/sysrq-trigger /proc/sys/fs/binfmt_misc/register /sys/kernel/rcu_expedited \
		/sys/kernel/profiling /sys/kernel/uevent_helper /sys/kernel/mm/transparent_hugepage/enabled; do
		[ -e "$p" ] && echo "$p"
	done
}

# knobs_refused CONTEXT: every probed path in $OUT was refused: EROFS for
# root (the read-only mount is what stops it); EROFS or EACCES for uid
# 65534 (its mode bits stop it first).
knobs_refused() {
	local ctx=$1 p got
	for p in $(knob_paths); do
		got=$(sed -n "s|^$p ||p" <<<"$OUT")
		if [ "$(id -u)" = 0 ]; then
			expect "$ctx: $p cannot be opened for writing (EROFS)" '[ "$got" = EROFS ]'
		else
			expect "$ctx: $p cannot be opened for writing (EROFS or EACCES)" \
				'[ "$got" = EROFS ] || [ "$got" = EACCES ]'
		fi
	done
}

case_knobs_read_only_in_every_proc_mode() {
	if [ ! -x /usr/bin/python3 ]; then
		skip "kernel knobs" "/usr/bin/python3 is missing (the probe)"
		return
	fi
	knob_probe
	new_ws
	local mode
	for mode in "" --no-proc; do
		ab run --policy full-access $mode -C "$WS" -- /usr/bin/python3 "$KP" $(knob_paths)
		expect_exit "full-access ${mode:-fresh /proc}: the probe runs" 0
		knobs_refused "full-access ${mode:-fresh /proc}"
	done
	ab explain --policy full-access --no-proc
	expect_stdout_contains "explain lists the knob binds over the host's /proc" "proc-knob-read-only  /proc/sys"
	# A write rule on /proc itself under workspace-write: the protected
	# names under it cannot be made there (procfs makes no entries on
	# request); that once made every run retry for ever.
	for mode in "" --no-proc; do
		ab run --policy workspace-write --write /proc $mode -C "$WS" -- /usr/bin/python3 "$KP" $(knob_paths)
		expect_exit "workspace-write --write /proc ${mode:-fresh /proc}: the probe runs" 0
		knobs_refused "workspace-write --write /proc ${mode:-fresh /proc}"
	done
}

# A write rule cannot reopen a knob: the run is refused before anything
# runs, naming the path and why.
case_knobs_write_rule_refused() {
	new_ws
	local p
	for p in /sys /sys/kernel /proc/sys /proc/sys/kernel/core_pattern; do
		ab run --policy full-access --write "$p" --no-proc -C "$WS" -- sh -c 'echo ran'
		expect_exit "--write $p: refused" 125
		expect_stdout_eq "--write $p: nothing ran" ""
		expect_stderr_contains "--write $p: the message names the path and the reason" \
			"$p (--write ($p)) is a kernel interface: no policy can make it writable"
	done
}

# The automatic retry without a fresh /proc (the host refuses one: here a
# /proc with a covered part, a writable tmpfs over /proc/sys) keeps the
# knobs read-only over the outer /proc. bwrap cannot run there at all (it
# reads /proc/sys/kernel/overflowuid), so this is the built-in engine's.
case_knobs_read_only_after_proc_retry() {
	if [ "$BACKEND" != builtin ]; then
		return 0
	fi
	if [ ! -x /usr/bin/python3 ]; then
		skip "kernel knobs after the /proc retry" "/usr/bin/python3 is missing (the probe)"
		return
	fi
	knob_probe
	new_ws
	local xdg=$CASE_DIR/xdg
	mkdir -m 0700 "$xdg"
	abx env XDG_RUNTIME_DIR="$xdg" unshare --user --map-root-user --mount /bin/sh -c \
		'mount -t tmpfs none /proc/sys && : >/proc/sys/probe && exec "$@"' sh \
		"$AGENTBOX" run --policy full-access -C "$WS" -- /usr/bin/python3 "$KP" /proc/sys/probe
	if [ "$RC" != 0 ] && grep -q "unshare" <<<"$ERR"; then
		skip "kernel knobs after the /proc retry" "cannot make the outer namespace: $ERR"
		return
	fi
	expect_exit "the probe runs" 0
	expect_stderr_contains "the retry happened" "does not allow mounting a fresh /proc"
	expect_stdout_eq "the outer /proc/sys (a writable tmpfs) is read-only inside" "/proc/sys/probe EROFS"
}

# The Landlock backend has no mounts: under a writable / (full-access) the
# rule on / is pushed down around /proc, which keeps only reading, and /sys
# is a read-only plan node. Before, root opened core_pattern for writing
# there. Also with O_CREAT (which goes to agentbox's broker). Ordinary work
# under full-access still works: files outside the workspace, in /, /proc
# and /sys read.
case_knobs_read_only_on_landlock_full_access() {
	landlock_case "kernel knobs on the Landlock backend" || return 0
	if [ ! -x /usr/bin/python3 ]; then
		skip "kernel knobs on the Landlock backend" "/usr/bin/python3 is missing (the probe)"
		return
	fi
	knob_probe
	new_ws
	local p got
	ab run --backend landlock --policy full-access -C "$WS" -- /usr/bin/python3 "$KP" $(knob_paths) /proc/self/oom_score_adj
	expect_exit "the probe runs" 0
	for p in $(knob_paths) /proc/self/oom_score_adj; do
		got=$(sed -n "s|^$p ||p" <<<"$OUT")
		expect "$p cannot be opened for writing (EACCES)" '[ "$got" = EACCES ]'
	done
	# with O_CREAT: the broker leaves /proc to Landlock
	ab run --backend landlock --policy full-access -C "$WS" -- /usr/bin/python3 -c '
import errno, os, sys
for p in sys.argv[1:]:
    try:
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_NOCTTY, 0o600)); print(p, "OPENED")
    except OSError as e:
        print(p, errno.errorcode.get(e.errno, e.errno))
' $(knob_paths)
	for p in $(knob_paths); do
		got=$(sed -n "s|^$p ||p" <<<"$OUT")
		expect "$p cannot be opened for writing with O_CREAT (EACCES)" '[ "$got" = EACCES ]'
	done
	local out=$OUTSIDE_BASE/knobs-ll
	rm -rf "$out"
	ab run --backend landlock --policy full-access -C "$WS" -- sh -c '
		mkdir "$1" && echo data >"$1/f" && echo more >>"$1/f" && mv "$1/f" "$1/g" &&
		chmod 600 "$1/g" && cat "$1/g" && rm -r "$1" &&
		grep -q "^Pid:" /proc/self/status && cat /proc/sys/kernel/ostype &&
		ls /sys/class >/dev/null && ls /proc/self/fd >/dev/null && echo fine' sh "$out"
	expect_exit "ordinary work under full-access runs" 0
	expect_stdout_eq "files outside, /proc and /sys reads work" "data
more
Linux
fine"
	expect "nothing is left" '[ ! -e "$out" ]'
}
