# The Landlock backend's broker (src/backend/landlock/broker.h), for what
# Landlock alone gives a narrowed directory's later entries too little or
# cannot judge at all: reopening a file made there for writing without
# O_CREAT, O_TMPFILE there, and inode flags (chattr) on files outside the
# writable roots. Cases pick --backend landlock themselves (landlock_case).

# A workspace that is a git repository (so its root is narrowed: .git
# must stay read-only) with one subdirectory.
llb_repo() {
	new_ws
	git_q -C "$WS" init
	mkdir "$WS/sub"
	GIT_CONFIG_BEFORE=$(cat "$WS/.git/config")
}

LLB_OPEN_PY='
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
outside = sys.argv[1]
def t(name, f):
    try:
        r = f()
        print(name, "ok" if r is None else r)
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, e.errno))
def reopen(p, flags, data=None):
    fd = os.open(p, flags)
    if data:
        os.write(fd, data)
    os.close(fd)
with open("newf", "w") as f:
    f.write("one\n")
t("reopen O_WRONLY", lambda: reopen("newf", os.O_WRONLY, b"two\n"))
t("reopen O_RDWR|O_APPEND", lambda: reopen("newf", os.O_RDWR | os.O_APPEND, b"three\n"))
t("content", lambda: open("newf").read().replace("\n", "|"))
t("reopen O_TRUNC", lambda: reopen("newf", os.O_WRONLY | os.O_TRUNC, b"four\n"))
t("content after truncate", lambda: open("newf").read().replace("\n", "|"))
os.mkdir("nd")
open("nd/x", "w").write("x")
t("reopen in a new directory", lambda: reopen("nd/x", os.O_RDWR, b"y"))
os.symlink(outside, "lnk")
t("reopen a new link to an outside file", lambda: reopen("lnk", os.O_WRONLY))
t("outside file O_WRONLY", lambda: reopen(outside, os.O_WRONLY))
t(".git/config O_WRONLY", lambda: reopen(".git/config", os.O_WRONLY))
t(".git/config O_TRUNC", lambda: reopen(".git/config", os.O_RDONLY | os.O_TRUNC))
t(".git/HEAD O_RDWR", lambda: reopen(".git/HEAD", os.O_RDWR))
# O_TMPFILE in the narrowed root, named afterwards through /proc/self/fd
fd = os.open(".", os.O_TMPFILE | os.O_RDWR, 0o600)
os.write(fd, b"unnamed\n")
t("O_TMPFILE in .", lambda: None)
fd2 = os.open(os.getcwd(), os.O_TMPFILE | os.O_WRONLY, 0o600)
t("O_TMPFILE by absolute path", lambda: None)
def link(src_fd, dst):
    r = libc.linkat(-100, b"/proc/self/fd/%d" % src_fd, -100, dst.encode(), 0x400)
    if r:
        raise OSError(ctypes.get_errno(), "linkat")
t("name it", lambda: link(fd, "named"))
t("named content", lambda: open("named").read().strip())
t("name one into .git", lambda: link(fd2, ".git/named"))
t("name one .agentbox", lambda: link(fd2, ".agentbox"))
t("link an outside file by /proc/self/fd", lambda: link(os.open(outside, os.O_RDONLY), "hl"))
t("O_TMPFILE in .git", lambda: os.open(".git", os.O_TMPFILE | os.O_RDWR, 0o600) and None)
import tempfile
t("tempfile.TemporaryFile", lambda: tempfile.TemporaryFile(dir=".").write(b"x") and None)
'

# Files made directly in the workspace root after the start (a narrowed
# directory) can be reopened for writing and truncated without O_CREAT;
# protected names and files outside still cannot. Before, only O_CREAT
# opens reached the broker and these reopens failed with EACCES.
case_landlock_reopen_and_tmpfile_in_narrowed_dir() {
	landlock_case "broker opens" || return 0
	if [ ! -x /usr/bin/python3 ]; then
		skip "broker opens" "/usr/bin/python3 is missing"
		return
	fi
	llb_repo
	new_outside
	echo outside >"$OUTSIDE/f"
	local git_before
	git_before=$(snapshot "$WS/.git")
	ab run -q --backend landlock --policy workspace-write -C "$WS" -- python3 -c "$LLB_OPEN_PY" "$OUTSIDE/f"
	expect_exit "the probe runs" 0
	local entry
	while read -r entry; do
		expect "${entry%% => *}: ${entry#* => }" 'grep -qxF "${entry%% => *} ${entry#* => }" <<<"$OUT"'
	done <<'EOF'
reopen O_WRONLY => ok
reopen O_RDWR|O_APPEND => ok
content => two|three|
reopen O_TRUNC => ok
content after truncate => four|
reopen in a new directory => ok
reopen a new link to an outside file => EACCES
outside file O_WRONLY => EACCES
.git/config O_WRONLY => EACCES
.git/config O_TRUNC => EACCES
.git/HEAD O_RDWR => EACCES
O_TMPFILE in . => ok
O_TMPFILE by absolute path => ok
name it => ok
named content => unnamed
name one into .git => EACCES
name one .agentbox => EACCES
link an outside file by /proc/self/fd => EACCES
O_TMPFILE in .git => EACCES
tempfile.TemporaryFile => ok
EOF
	expect "the outside file is unchanged" '[ "$(cat "$OUTSIDE/f")" = outside ]'
	expect ".git is unchanged" '[ "$(snapshot "$WS/.git")" = "$git_before" ] && [ "$(cat "$WS/.git/config")" = "$GIT_CONFIG_BEFORE" ]'
	expect "no .agentbox was made" '[ ! -e "$WS/.agentbox" ]'
	expect "the host sees the named O_TMPFILE" '[ "$(cat "$WS/named" 2>/dev/null)" = unnamed ]'
}

LLB_FLAGS_PY='
import errno, fcntl, os, struct, sys
SETFLAGS, SETFLAGS32, FSSETXATTR, GETFLAGS = 0x40086602, 0x40046602, 0x401c5820, 0x80086601
NODUMP, NOATIME = 0x40, 0x80
def getflags(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        return struct.unpack("i", fcntl.ioctl(fd, GETFLAGS, b"\0" * 4))[0]
    finally:
        os.close(fd)
if sys.argv[1] == "get":
    print(getflags(sys.argv[2]))
    sys.exit(0)
for p in sys.argv[1:]:
    for name, cmd, arg in (
        ("SETFLAGS", SETFLAGS, lambda f: struct.pack("i", f | NODUMP)),
        ("SETFLAGS32", SETFLAGS32, lambda f: struct.pack("i", f | NOATIME)),
        ("FSSETXATTR", FSSETXATTR, lambda f: struct.pack("IIIII8x", 0x80, 0, 0, 0, 0)),
    ):
        try:
            fd = os.open(p, os.O_RDONLY)
            fcntl.ioctl(fd, cmd, arg(getflags(p)))
            os.close(fd)
            print(p, name, "ok")
        except OSError as e:
            print(p, name, errno.errorcode.get(e.errno, e.errno))
'

# chattr-style inode flags go through ioctl on any fd its owner holds,
# even one opened read-only: a metadata change like chmod. Outside the
# writable roots (a readable file the user owns, .git/config) they are
# refused and the flags stay; inside they work. Before, an owner's file
# outside got nodump/noatime set through a read-only fd.
case_landlock_chattr_outside_unchanged() {
	landlock_case "chattr outside" || return 0
	if [ ! -x /usr/bin/python3 ]; then
		skip "chattr outside" "/usr/bin/python3 is missing"
		return
	fi
	llb_repo
	new_outside
	echo data >"$OUTSIDE/f"
	echo in >"$WS/sub/inside"
	local fl=$CASE_DIR/flags.py
	printf '%s' "$LLB_FLAGS_PY" >"$fl"
	if ! python3 "$fl" get "$OUTSIDE/f" >/dev/null 2>&1; then
		skip "chattr outside" "the filesystem of $OUTSIDE has no inode flags"
		return
	fi
	local before_f before_git
	before_f=$(python3 "$fl" get "$OUTSIDE/f")
	before_git=$(python3 "$fl" get "$WS/.git/config")
	ab run -q --backend landlock --policy workspace-write -C "$WS" -- python3 "$fl" "$OUTSIDE/f" .git/config sub/inside
	expect_exit "the probe runs" 0
	local p n
	for p in "$OUTSIDE/f" .git/config; do
		for n in SETFLAGS SETFLAGS32 FSSETXATTR; do
			expect "$p: $n refused (EPERM)" 'grep -qxF "$p $n EPERM" <<<"$OUT"'
		done
	done
	expect "the outside file's flags are unchanged" '[ "$(python3 "$fl" get "$OUTSIDE/f")" = "$before_f" ]'
	expect ".git/config's flags are unchanged" '[ "$(python3 "$fl" get "$WS/.git/config")" = "$before_git" ]'
	expect "inside the workspace chattr works" 'grep -qxF "sub/inside SETFLAGS ok" <<<"$OUT" && grep -qxF "sub/inside FSSETXATTR ok" <<<"$OUT"'
	expect "the host sees the flags set inside (nodump)" '[ $(( $(python3 "$fl" get "$WS/sub/inside") & 0x40 )) != 0 ]'
	ab run -q --backend landlock --policy workspace-write -C "$WS" -- chattr -d sub/inside
	expect_exit "chattr(1) inside works" 0
	expect "and the host sees it" '[ $(( $(python3 "$fl" get "$WS/sub/inside") & 0x40 )) = 0 ]'
}

# A hard link of .git/config made in the workspace root by the host while
# the run lasts (the command itself cannot make one) is the protected file
# under another name: opening it for writing or truncating it is refused
# by identity, before any O_TRUNC could act, and .git/config is unchanged.
case_landlock_reopen_refuses_protected_hard_link() {
	landlock_case "broker opens: hard link" || return 0
	if [ ! -x /usr/bin/python3 ]; then
		skip "broker opens: hard link" "/usr/bin/python3 is missing"
		return
	fi
	llb_repo
	abx sh -c '"$1" run -q --backend landlock --policy workspace-write -C "$2" -- python3 -c "
import errno, os, time
open(\"sub/ready\", \"w\").close()
for i in range(400):
    if os.path.exists(\"hl\"):
        break
    time.sleep(0.05)
for name, flags in ((\"O_WRONLY|O_TRUNC\", os.O_WRONLY | os.O_TRUNC), (\"O_RDWR\", os.O_RDWR), (\"O_RDONLY|O_TRUNC\", os.O_RDONLY | os.O_TRUNC), (\"O_CREAT|O_TRUNC\", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
    try:
        os.close(os.open(\"hl\", flags))
        print(name, \"ok\")
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, e.errno))
" & while [ ! -e "$2/sub/ready" ]; do sleep 0.05; done; ln "$2/.git/config" "$2/hl"; wait' sh "$AGENTBOX" "$WS"
	expect_exit "the run ends" 0
	local f
	for f in "O_WRONLY|O_TRUNC" O_RDWR "O_RDONLY|O_TRUNC" "O_CREAT|O_TRUNC"; do
		expect "the hard link of .git/config: $f refused" 'grep -qxF "$f EACCES" <<<"$OUT"'
	done
	expect ".git/config is unchanged" '[ "$(cat "$WS/.git/config")" = "$GIT_CONFIG_BEFORE" ]'
	rm -f "$WS/hl"
}
