# No host privilege left behind: whatever the command tries, no file or
# directory in a writable root ends up set-user-ID or set-group-ID, no
# device node is made, no file capability is set (issue #12). Every check
# looks at the host's files afterwards; each way is also tried on the host
# first where the pass user can do it there, to show the check would see
# the bits if they were planted.

# A file with the setuid and setgid bits, made on the host outside the
# writable roots (the sources of cp -p and tar); sets SRC.
setid_source() {
	new_outside
	SRC=$OUTSIDE/suid
	cp /bin/true "$SRC"
	chmod 6755 "$SRC"
	(cd "$OUTSIDE" && tar cf suid.tar suid)
}

# setid_found DIR...: the setuid/setgid files and directories under DIR.
setid_found() {
	find "$@" -perm /6000 -printf '%m %p\n' 2>/dev/null
}

# The attempts, each its own command so that one failing does not skip
# the next. Run with the working directory in a writable root.
SETID_ATTEMPTS=(
	'cp /bin/sh s1 && chmod 4755 s1'
	'cp /bin/sh s2 && chmod u+s s2'
	'cp /bin/sh s3 && chmod g+s s3'
	'cp /bin/sh s4 && chmod 6755 s4'
	'cp /bin/sh s5 && chmod 04755 /proc/self/cwd/s5'
	'install -m 4755 /bin/true i1'
	'install -m 2755 /bin/true i2'
	'cp -p "$SRC" c1'
	'cp --preserve=mode "$SRC" c2'
	'cp -a "$SRC" c3'
	'tar xpf "$OUTSIDE/suid.tar" --no-same-owner'
	'mkdir d1 && chmod g+s d1'
	'mkdir d2 && chmod 2775 d2'
	'mkdir -m 2755 d3'
	'mkdir -m 4755 d4'
	'install -d -m 2775 d5'
	'/usr/bin/python3 -c "import os; open(\"p1\", \"w\").close(); os.chmod(\"p1\", 0o4755)"'
	'/usr/bin/python3 -c "import os; os.close(os.open(\"p2\", os.O_CREAT | os.O_WRONLY, 0o4755))"'
	'/usr/bin/python3 -c "import os; os.close(os.open(\"p3\", os.O_CREAT | os.O_WRONLY, 0o2755))"'
	'/usr/bin/python3 -c "import os; os.mkdir(\"p4\", 0o2755)"'
	'/usr/bin/python3 -c "import os; os.mknod(\"p5\", 0o104755)"'
	'/usr/bin/python3 -c "import os; f = os.open(\"p6\", os.O_CREAT | os.O_WRONLY, 0o755); os.fchmod(f, 0o6755)"'
	'/usr/bin/python3 -c "import os; d = os.open(\".\", os.O_RDONLY); os.close(os.open(\"p7\", os.O_CREAT | os.O_WRONLY, 0o644)); os.chmod(\"p7\", 0o2711, dir_fd=d)"'
)

# setid_attempts LABEL DIR AGENTBOX-RUN-ARGS...: every attempt in DIR (a
# writable root under those arguments); none may leave the bits.
setid_attempts() {
	local label=$1 dir=$2 a planted=""
	shift 2
	# the attempts mean something only where the command can write
	ab run "$@" -- /bin/sh -c "cd '$dir' && cp /bin/true ctl && chmod 0755 ctl"
	expect_exit "$label: a plain copy and chmod work there" 0 || return
	for a in "${SETID_ATTEMPTS[@]}"; do
		ab run "$@" -- /bin/sh -c "cd '$dir' && SRC='$SRC' OUTSIDE='$OUTSIDE' && $a"
		if [ -n "$(setid_found "$dir")" ]; then
			planted+="$a -> $(setid_found "$dir" | tr '\n' ' ')"$'\n'
			find "$dir" -mindepth 1 -delete
		fi
	done
	local name="$label: no attempt left a setuid or setgid file in a writable root"
	if [ -z "$planted" ]; then
		ok "$name (${#SETID_ATTEMPTS[@]} attempts)"
	else
		fail "$name" "planted:" "$planted"
	fi
}

case_setid_bits_cannot_be_planted() {
	setid_source
	new_ws
	# baseline: on the host the same commands do plant the bits
	local host
	host=$(mktemp -d "$CASE_DIR/host.XXXXXX")
	chmod 0755 "$host"
	(cd "$host" && cp /bin/sh s && chmod 4755 s && mkdir -m 2755 d &&
		cp -p "$SRC" c && tar xpf "$OUTSIDE/suid.tar" --no-same-owner) 2>/dev/null
	expect "baseline: the host's own commands make setuid/setgid files" \
		'[ "$(setid_found "$host" | wc -l)" -ge 3 ]'

	setid_attempts "workspace-write, the workspace" "$WS" --policy workspace-write -C "$WS"
	# /tmp and $TMPDIR are writable roots too
	local t
	t=$(mktemp -d "$CASE_DIR/tmp.XXXXXX")
	chmod 0755 "$t"
	setid_attempts "workspace-write, under /tmp" "$t" --policy workspace-write -C "$WS"
	# full-access: the whole filesystem is writable
	local fa
	fa=$(mktemp -d "$CASE_OUT/fa.XXXXXX")
	setid_attempts "full-access, outside the workspace" "$fa" --policy full-access -C "$WS"
	local n
	for n in none full; do
		ab run --net "$n" --policy workspace-write -C "$WS" -- \
			/bin/sh -c 'cp /bin/sh x && chmod 4755 x'
		expect_nonzero "--net $n: chmod 4755 fails"
		expect_stderr_contains "--net $n: the failure is EPERM" "Operation not permitted"
	done
	expect "nothing setuid in the workspace" '[ -z "$(setid_found "$WS")" ]'
}

# chown cannot keep the bits: the kernel clears S_ISUID (and S_ISGID with
# group execute) of a regular file on any chown, and the command has no
# CAP_CHOWN to give a file to someone else.
case_setid_chown_does_not_keep_the_bits() {
	new_ws
	cp /bin/true "$WS/f"
	chmod 6755 "$WS/f"
	local me
	me="$(id -u):$(id -g)"
	ab run --policy workspace-write -C "$WS" -- chown "$me" f
	expect_exit "chown to the owner it already has works" 0
	expect "the bits are gone after the chown" '[ "$(stat -c %a "$WS/f")" = 755 ]'

	chmod 6755 "$WS/f"
	ab run --policy workspace-write -C "$WS" -- chown 12345:12345 f
	expect_nonzero "chown to another owner fails (no CAP_CHOWN)"
	expect "the file still belongs to the pass user" '[ "$(stat -c %u:%g "$WS/f")" = "$me" ]'
	ab run --policy workspace-write -C "$WS" -- chgrp 0 f
	if [ "$(id -u)" = 0 ]; then
		expect "root's chgrp 0 (its own group) cleared the bits" \
			'[ "$(stat -c %a "$WS/f")" = 755 ]'
	else
		expect_nonzero "chgrp to a group the user is not in fails"
	fi
}

case_setid_device_nodes_cannot_be_made() {
	new_ws
	ab run --policy workspace-write -C "$WS" -- mknod null c 1 3
	expect_nonzero "mknod c 1 3 fails"
	expect_stderr_contains "the failure is EPERM" "Operation not permitted"
	expect_absent "no character device" "$WS/null"
	ab run --policy workspace-write -C "$WS" -- mknod sda b 8 0
	expect_nonzero "mknod b 8 0 fails"
	expect_absent "no block device" "$WS/sda"
	ab run --policy workspace-write -C "$WS" -- /usr/bin/python3 -c \
		'import os, stat; os.mknod("w", stat.S_IFCHR | 0o600, os.makedev(0, 0))'
	expect_nonzero "a 0:0 whiteout device fails too"
	expect_absent "no whiteout" "$WS/w"
	ab run --policy workspace-write -C "$WS" -- mkfifo fifo
	expect_exit "a FIFO can still be made" 0
	expect "the FIFO is on the host" '[ -p "$WS/fifo" ]'
}

# security.capability needs CAP_SETFCAP, which the command lacks (root
# included); a v2 capability set with cap_net_raw, as setcap writes it.
case_setid_file_capabilities_cannot_be_set() {
	new_ws
	cp /bin/true "$WS/f"
	local py='import os, struct, sys
try:
    os.setxattr(sys.argv[1], "security.capability", struct.pack("<5I", 0x02000001, 1 << 13, 0, 0, 0))
    print("set")
except OSError as e:
    print("refused", e.errno)'
	if [ "$(id -u)" = 0 ]; then
		cp /bin/true "$CASE_DIR/host"
		expect "baseline: root sets a file capability on the host" \
			'[ "$(/usr/bin/python3 -c "$py" "$CASE_DIR/host")" = set ]'
	fi
	ab run --policy workspace-write -C "$WS" -- /usr/bin/python3 -c "$py" f
	expect_stdout_eq "setxattr security.capability is refused" "refused 1"
	expect "the host file has no capability" \
		'! /usr/bin/python3 -c "import os, sys; os.getxattr(sys.argv[1], \"security.capability\")" "$WS/f" 2>/dev/null'
	if command -v setcap >/dev/null; then
		ab run --policy workspace-write -C "$WS" -- setcap cap_net_raw+ep f
		expect_nonzero "setcap fails"
	fi
}

# The Landlock backend runs the same inner stage and filter.
case_setid_landlock_backend() {
	landlock_case "landlock" || return 0
	setid_source
	new_ws
	# a subdirectory: this backend keeps the workspace's top level
	# read-only while .git and .agentbox are missing there
	mkdir "$WS/sub"
	setid_attempts "landlock, workspace-write" "$WS/sub" --backend landlock --policy workspace-write -C "$WS"
	ab run --backend landlock --policy workspace-write -C "$WS" -- mknod sub/null c 1 3
	expect_nonzero "landlock: mknod c 1 3 fails"
	expect_absent "landlock: no device node" "$WS/sub/null"
}
