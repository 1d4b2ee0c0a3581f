# The Landlock backend, run for real: what it refuses and allows is checked
# by trying it, from inside, against the host.
#
# Every case names --backend landlock itself, so the backend variant of the
# pass does not matter: the cases run only in the builtin variant (once as
# root, once as uid 65534) to save CI time.

ll_only_once() {
	landlock_case "landlock cases"
}

# A workspace that is a git repository with one subdirectory.
ll_repo() {
	new_ws
	git_q -C "$WS" init
	mkdir "$WS/sub"
	echo original >"$WS/sub/keep"
	GIT_CONFIG_BEFORE=$(cat "$WS/.git/config")
}

case_landlock_workspace_write() {
	ll_only_once || return 0
	ll_repo
	new_outside
	local ll=(--backend landlock --policy workspace-write -C "$WS")
	ab run "${ll[@]}" -- sh -c 'echo inside >sub/new && echo written'
	expect_exit "a write in a workspace subdirectory succeeds" 0
	expect_file_content "the host sees the file" "$WS/sub/new" inside

	ab run "${ll[@]}" -- sh -c "echo x >'$OUTSIDE/x'"
	expect_nonzero "a write outside the writable roots fails"
	expect_absent "nothing was created outside" "$OUTSIDE/x"

	ab run "${ll[@]}" -- sh -c 'echo evil >>.git/config'
	expect_nonzero ".git/config cannot be modified"
	expect ".git/config is unchanged on the host" '[ "$(cat "$WS/.git/config")" = "$GIT_CONFIG_BEFORE" ]'

	ab run "${ll[@]}" -- mv .git sub/stolen
	expect_nonzero ".git cannot be renamed away"
	ab run "${ll[@]}" -- rm -rf .git
	expect_nonzero ".git cannot be removed"
	ab run "${ll[@]}" -- sh -c 'mkdir sub/fake && mv .git sub/old; mv sub/fake .git'
	expect_nonzero ".git cannot be replaced"
	expect ".git is still the repository on the host" 'git -C "$WS" rev-parse --git-dir >/dev/null 2>&1 && [ -f "$WS/.git/config" ]'

	ab run "${ll[@]}" -- mkdir .agentbox
	expect_nonzero "a missing .agentbox cannot be created"
	expect_absent ".agentbox does not exist on the host" "$WS/.agentbox"

	ab run "${ll[@]}" -- sh -c 'f=$(mktemp) && echo t >"$f" && cat "$f" && echo "$TMPDIR"'
	expect_exit "mktemp works (a fresh per-run TMPDIR)" 0
	local tmpdir
	tmpdir=$(tail -n 1 <<<"$OUT")
	expect "the per-run TMPDIR is removed after the run" '[ -n "$tmpdir" ] && [ ! -e "$tmpdir" ]'
}

case_landlock_denied_path_cannot_be_read() {
	ll_only_once || return 0
	new_ws
	new_outside
	mkdir "$OUTSIDE/secret" "$OUTSIDE/open"
	echo s3cret >"$OUTSIDE/secret/key"
	echo visible >"$OUTSIDE/open/file"
	ab run --backend landlock -C "$WS" --deny "$OUTSIDE/secret" -- cat "$OUTSIDE/secret/key"
	expect_nonzero "a denied file cannot be read"
	expect_stdout_lacks "its content does not leak" s3cret
	ab run --backend landlock -C "$WS" --deny "$OUTSIDE/secret" -- cat "$OUTSIDE/open/file"
	expect_stdout_eq "a sibling of the denied path stays readable" visible
	ab run --backend landlock -C "$WS" --deny "$OUTSIDE/secret" -- ls "$OUTSIDE"
	expect_nonzero "listing the parent of a hidden path is refused (a narrowing)"
}

# Mode, owner, times and xattrs of a file, as the host sees them.
ll_meta_of() {
	stat -c '%a %u %g %Y %X' "$1"
	"$(dirname "$PROBE")/meta" getx "$1" user.ab 2>/dev/null || echo no-xattr
}

# Landlock has no right for chmod, chown, utimes or xattrs: the broker
# (backend/landlock/broker.h) must keep every change to a readable file
# outside the writable roots from happening, by any call or path, while
# the same calls keep working inside.
case_landlock_metadata_outside_unchanged() {
	ll_only_once || return 0
	ll_repo
	new_outside
	local meta
	meta="$(dirname "$PROBE")/meta"
	echo data >"$OUTSIDE/f"
	chmod 0644 "$OUTSIDE/f"
	mkdir "$OUTSIDE/d"
	chmod 0755 "$OUTSIDE/d"
	local xattrs=1
	if ! "$meta" setx "$OUTSIDE/f" user.ab before 2>/dev/null; then
		xattrs=0
	fi
	ln -s "$OUTSIDE/f" "$WS/link"
	echo in >"$WS/inside"
	chmod 0644 "$WS/inside"
	local before_f before_d before_git
	before_f=$(ll_meta_of "$OUTSIDE/f")
	before_d=$(ll_meta_of "$OUTSIDE/d")
	before_git=$(ll_meta_of "$WS/.git/config")
	local ll=(--backend landlock --policy workspace-write -C "$WS")
	local f="$OUTSIDE/f" d="$OUTSIDE/d" cmd
	for cmd in "chmod 4755 $f" "chmod 0666 $f" "chmod 0777 $d" "chmod 0666 link" \
		"chown $(id -u):$(id -g) $f" "chown -h $(id -u) $f" "touch -d 2001-01-01 $f" \
		"touch -d 2001-01-01 link" "touch -a $f" "$meta fchmod $f 666" "$meta fchown $f $(id -u)" \
		"$meta setx $f user.ab evil" "$meta fsetx $f user.ab evil" "$meta rmx $f user.ab" \
		"$meta setx $d user.ab evil" "chmod 0600 .git/config" "touch -d 2001-01-01 .git/config" \
		"cd $OUTSIDE && chmod 0666 f" "exec 3<$f && chmod 0666 /proc/self/fd/3"; do
		ab run "${ll[@]}" -- sh -c "$cmd"
		expect_nonzero "refused: $cmd"
	done
	expect "mode, owner, times and xattrs of the outside file are unchanged" \
		'[ "$(ll_meta_of "$OUTSIDE/f")" = "$before_f" ]'
	expect "the outside directory is unchanged" '[ "$(ll_meta_of "$OUTSIDE/d")" = "$before_d" ]'
	expect ".git/config (read-only in the plan) is unchanged" \
		'[ "$(ll_meta_of "$WS/.git/config")" = "$before_git" ]'

	ab run "${ll[@]}" -- sh -c "chmod +x inside && touch -d 2001-01-01 inside && chown $(id -u) inside && $meta fchmod inside 700 && touch -h link && mkdir -p sub/dd && chmod 0700 sub/dd"
	expect_exit "chmod, touch -d, chown, fchmod and touch -h work inside the workspace" 0
	expect "the host sees the mode and time set inside" \
		'[ "$(stat -c "%a %Y" "$WS/inside")" = "700 $(date -d 2001-01-01 +%s)" ] && [ "$(stat -c %a "$WS/sub/dd")" = 700 ]'
	if [ "$xattrs" = 1 ]; then
		ab run "${ll[@]}" -- sh -c "$meta setx inside user.ab v1 && $meta fsetx inside user.ab v2 && $meta getx inside user.ab && $meta setx inside user.gone x && $meta rmx inside user.gone"
		expect_stdout_eq "xattrs can be set and removed inside" v2
	else
		skip "xattrs inside" "the host filesystem of $OUTSIDE has no user xattrs"
	fi
}

# A racing renamer swaps a directory of the workspace with a symbolic link
# to an outside directory while chmod and touch go through the path: the
# broker decides on the object it opened, so the outside file never
# changes, whichever way each race goes.
case_landlock_metadata_race() {
	ll_only_once || return 0
	ll_repo
	new_outside
	echo data >"$OUTSIDE/f"
	chmod 0644 "$OUTSIDE/f"
	local before
	before=$(stat -c '%a %Y' "$OUTSIDE/f")
	mkdir "$WS/sub/d"
	echo in >"$WS/sub/d/f"
	ln -s "$OUTSIDE" "$WS/sub/s"
	local r2
	r2="$(dirname "$PROBE")/rename2"
	ab run --backend landlock --policy workspace-write -C "$WS/sub" -- sh -c \
		"( i=0; while [ \$i -lt 400 ]; do $r2 exchange d s >/dev/null; i=\$((i+1)); done ) &
		 i=0; while [ \$i -lt 400 ]; do chmod 0777 d/f 2>/dev/null; touch -d 2001-01-01 d/f 2>/dev/null; i=\$((i+1)); done; wait; echo done"
	expect_stdout_eq "the racing loop ran to its end" done
	expect "the outside file's mode and time never changed" '[ "$(stat -c "%a %Y" "$OUTSIDE/f")" = "$before" ]'
}

# The workspace root holds .git, so Landlock alone must refuse every new
# entry there; the broker (broker_fs.c) makes creating, removing and
# renaming work for every name but the protected ones.
case_landlock_workspace_root_usable() {
	ll_only_once || return 0
	ll_repo
	echo secret >"$WS/keep.txt"
	local ll=(--backend landlock --policy workspace-write --protect keep.txt -C "$WS")
	ab run "${ll[@]}" -- sh -c 'set -e
		mkdir d; echo one >f; mv f g; rm g; rmdir d
		mkdir -p new/a/b; echo deep >new/a/b/file; mv new/a/b/file new/moved; rm -r new/a
		echo x >s && sed -i s/x/y/ s && cat s
		ln -s s link; ln s hard; mkfifo fifo
		umask 077; echo p >private; mkdir pdir
		stat -c "%a %n" private pdir
		rm link hard fifo s'
	expect_exit "mkdir, create, rename, remove, sed -i, links and FIFOs work in the workspace root" 0
	expect_stdout_contains "sed -i replaced the file" y
	expect_stdout_contains "a created file follows the umask" "600 private"
	expect_stdout_contains "a created directory follows the umask" "700 pdir"
	expect_file_content "the host sees the new tree" "$WS/new/moved" deep
	expect_absent "removed files are gone on the host" "$WS/s"

	local before_git
	before_git=$(snapshot "$WS/.git")
	local r2 cmd
	r2="$(dirname "$PROBE")/rename2"
	mkdir "$WS/sub/x"
	for cmd in "mkdir .agentbox" "touch .agentbox" "ln -s /etc .agentbox" "ln sub/keep .agentbox" \
		"mkfifo .agentbox" "mv sub/x .agentbox" "mv .git g2" "rm -rf .git" "rmdir .git" \
		"mv sub/x .git" "echo x >.git/new" "mkdir .git/hooks2" "mv keep.txt k2" "rm keep.txt" \
		"echo x >keep2 && mv keep2 keep.txt" "ln -s x keep.txt" "ln -sf /etc/passwd keep.txt" \
		"cp sub/keep keep.txt" "$r2 exchange .git sub/x | grep -qx ok" "$r2 exchange sub/x .git | grep -qx ok" \
		"$r2 noreplace sub/x .agentbox | grep -qx ok" "mkdir sub/.git2 && mv sub/.git2 .agentbox"; do
		ab run "${ll[@]}" -- sh -c "$cmd"
		expect_nonzero "refused: $cmd"
	done
	expect_absent ".agentbox was never created" "$WS/.agentbox"
	expect "the repository is unchanged" '[ "$(snapshot "$WS/.git")" = "$before_git" ]'
	expect_file_content "the protected file is unchanged" "$WS/keep.txt" secret
	expect "sub/x is still where it was" '[ -d "$WS/sub/x" ]'

	if [ -x /usr/bin/python3 ]; then
		ab run "${ll[@]}" -- /usr/bin/python3 -c '
import os
d = os.open(".", os.O_RDONLY)
os.mkdir("ok", dir_fd=d)
os.rename("ok", "ok2", src_dir_fd=d, dst_dir_fd=d)
for f in (lambda: os.mkdir(".agentbox", dir_fd=d),
          lambda: os.open(".agentbox", os.O_CREAT | os.O_WRONLY, dir_fd=d),
          lambda: os.rename("ok2", ".agentbox", src_dir_fd=d, dst_dir_fd=d),
          lambda: os.symlink("/", ".agentbox", dir_fd=d),
          lambda: os.unlink("keep.txt", dir_fd=d)):
    try:
        f()
        print("WIDENED")
    except OSError as e:
        print("refused", e.errno)
'
		expect_exit "through a directory fd: the workspace works" 0
		expect_stdout_lacks "through a directory fd: nothing protected is created" WIDENED
		expect "ok2 was created through the fd" '[ -d "$WS/ok2" ]'
	else
		skip "dirfd cases" "no /usr/bin/python3"
	fi
}

# A program whose signal handler restarts calls (SA_RESTART), with a timer
# firing every 50us, creates 2000 directories and files through the broker:
# a signal arriving while agentbox performs a call must not make the
# restarted call find what the first attempt created (EEXIST).
case_landlock_broker_signals_restart() {
	ll_only_once || return 0
	if [ ! -x /usr/bin/python3 ]; then
		skip "broker and signals" "needs /usr/bin/python3"
		return
	fi
	ll_repo
	ab run --backend landlock --policy workspace-write -C "$WS" -- /usr/bin/python3 -c '
import os, signal
signal.signal(signal.SIGALRM, lambda s, f: None)
signal.siginterrupt(signal.SIGALRM, False)
signal.setitimer(signal.ITIMER_REAL, 0.00005, 0.00005)
bad = 0
for i in range(2000):
    try:
        os.mkdir("d%d" % i)
        os.close(os.open("f%d" % i, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except OSError as e:
        bad += 1
signal.setitimer(signal.ITIMER_REAL, 0, 0)
print("wrong errors:", bad)
'
	expect_stdout_eq "no call saw an error of its own restart" "wrong errors: 0"
	expect "every directory and file exists on the host" \
		'[ -d "$WS/d1999" ] && [ -f "$WS/f1999" ] && [ "$(ls "$WS" | wc -l)" -ge 4000 ]'
}

# A racing renamer swaps a workspace directory with symbolic links to .git
# and to an outside directory while the command creates, renames and
# removes through that path: nothing outside and nothing in .git changes.
case_landlock_create_race() {
	ll_only_once || return 0
	ll_repo
	new_outside
	echo o >"$OUTSIDE/o"
	mkdir "$WS/sub/d"
	ln -s "$WS/.git" "$WS/sub/g"
	ln -s "$OUTSIDE" "$WS/sub/o"
	local before_git before_out r2
	before_git=$(snapshot "$WS/.git")
	before_out=$(snapshot "$OUTSIDE")
	r2="$(dirname "$PROBE")/rename2"
	ab run --backend landlock --policy workspace-write -C "$WS" -- sh -c \
		"cd sub; ( i=0; while [ \$i -lt 300 ]; do $r2 exchange d g >/dev/null; $r2 exchange d o >/dev/null; i=\$((i+1)); done ) &
		 i=0; while [ \$i -lt 300 ]; do echo x >d/f\$i 2>/dev/null; mkdir d/m\$i 2>/dev/null; mv d/f\$i d/config 2>/dev/null; rm -f d/HEAD d/o 2>/dev/null; ln -s /etc d/l\$i 2>/dev/null; i=\$((i+1)); done; wait; echo done"
	expect_stdout_eq "the racing loop ran to its end" done
	expect "nothing in .git changed" '[ "$(snapshot "$WS/.git")" = "$before_git" ]'
	expect "nothing outside changed" '[ "$(snapshot "$OUTSIDE")" = "$before_out" ]'
}

case_landlock_network_none() {
	ll_only_once || return 0
	if [ ! -x /usr/bin/python3 ]; then
		skip "landlock network" "needs /usr/bin/python3"
		return
	fi
	new_ws
	start_tcp_sink || { skip "landlock tcp" "no listener"; return; }
	local port=$SINK_PORT conn
	conn="import socket,sys; s=socket.create_connection(('127.0.0.1',$port),2); print('connected')"
	abx /usr/bin/python3 -c "$conn"
	expect_stdout_eq "baseline: the host connects to its listener" connected
	ab run --backend landlock -C "$WS" -- /usr/bin/python3 -c "$conn"
	expect_nonzero "net none: TCP connect to a host listener fails"
	expect_stdout_lacks "net none: no connection" connected

	local name="agentbox-it-$$-$RANDOM"
	(exec /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind("\0" + sys.argv[1]); s.listen(8)
print("ready", flush=True)
while True:
    c, _ = s.accept(); c.close()
' "$name" >"$CASE_DIR/abstract" 2>/dev/null) &
	bg_track $!
	wait_for_file "$CASE_DIR/abstract" ready 50 || { skip "landlock abstract" "no listener"; return; }
	local aconn="import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect('\0'+sys.argv[1]); print('connected')"
	abx /usr/bin/python3 -c "$aconn" "$name"
	expect_stdout_eq "baseline: the host reaches its abstract socket" connected
	ab run --backend landlock -C "$WS" -- /usr/bin/python3 -c "$aconn" "$name"
	expect_nonzero "net none: an abstract unix socket outside is refused"
	expect_stderr_contains "net none: refused by the scope (EPERM)" "PermissionError"
	ab run --backend landlock --net full -C "$WS" -- /usr/bin/python3 -c "$aconn" "$name"
	expect_stdout_eq "net full: the abstract socket is reachable, as without a network namespace" connected
}

case_landlock_signals_outside_refused() {
	ll_only_once || return 0
	new_ws
	sleep 60 &
	local victim=$!
	bg_track $victim
	ab run --backend landlock -C "$WS" -- kill -TERM "$victim"
	expect_nonzero "a signal to a process outside the sandbox is refused"
	expect "the process outside is still alive" 'kill -0 "$victim" 2>/dev/null'
	ab run --backend landlock -C "$WS" -- sh -c 'sleep 30 & kill -TERM $! && wait $!; echo "status $?"'
	expect_stdout_eq "signals inside the sandbox work" "status 143"
}

case_landlock_exact_and_require() {
	ll_only_once || return 0
	ll_repo
	ab run --backend landlock --exact --policy workspace-write -C "$WS" -- true
	expect_exit "--exact refuses a narrowed plan" 125
	expect_stderr_contains "--exact names the cause" "--exact: Landlock cannot enforce this plan exactly"
	expect_stderr_contains "--exact lists the narrowing" "entries made in $WS after the start"
	ab run --backend landlock --exact --policy read-only -C "$WS" -- echo exact
	expect_stdout_eq "--exact runs a plan Landlock enforces exactly" exact

	ab run --backend landlock --require userns --policy read-only -C "$WS" -- true
	expect_exit "--require userns fails on landlock" 125
	expect_stderr_contains "the error names the requirement and the backend" \
		"--require userns: not met by the landlock backend"
	expect_stderr_contains "the error says what this host gives" "which gives: exact-fs, net-none, landlock, seccomp"
	ab run --require nonsense -- true
	expect_exit "an unknown feature is an error" 125
	expect_stderr_contains "it lists the valid features" "userns, exact-fs, net-none, pid-ns, landlock, seccomp"

	local ev=$CASE_DIR/ev.json
	abx sh -c '"$1" run --backend auto --require landlock -C "$2" --events-fd 3 -- true 3>"$3"' \
		sh "$AGENTBOX" "$WS" "$ev"
	expect_exit "auto with --require landlock runs" 0
	expect "auto skips to landlock" 'grep -q "\"event\":\"start\",\"backend\":\"landlock\"" "$ev"'
	expect "each skipped backend is a backend_fallback warning" \
		'[ "$(grep -c "\"code\":\"backend_fallback\"" "$ev")" = 2 ]'
}

case_landlock_posture_in_start_event() {
	ll_only_once || return 0
	ll_repo
	local ev=$CASE_DIR/ev.json
	abx sh -c '"$1" run --backend landlock --policy workspace-write -C "$2" --events-fd 3 -- true 3>"$3"' \
		sh "$AGENTBOX" "$WS" "$ev"
	expect_exit "the run succeeds" 0
	local start
	start=$(grep '"event":"start"' "$ev")
	expect "start: backend landlock" '[[ "$start" == *"\"backend\":\"landlock\""* ]]'
	expect "start: no namespaces" '[[ "$start" == *"\"namespaces\":[]"* ]]'
	expect "start: filesystem narrowed" '[[ "$start" == *"\"filesystem_exact\":false"* ]]'
	expect "start: the workspace narrowing is listed" \
		'[[ "$start" == *"\"code\":\"new_entries\",\"path\":\"$WS\""* ]]'
	expect "start: creation in the workspace root is no narrowing (the broker does it)" \
		'[[ "$start" != *"\"code\":\"no_create\""* ]]'
	expect "start: Landlock ABI and features" \
		'[[ "$start" == *"\"landlock\":{\"abi\":"* && "$start" == *"\"connect_tcp\""* && "$start" == *"\"signal\""* ]]'
	ab explain --backend landlock --policy workspace-write -C "$WS"
	expect_stdout_contains "explain shows the narrowed filesystem" "filesystem: narrowed"
	expect_stdout_contains "explain: the host's /proc, not a fresh one" "/proc: the host's (no PID namespace with this backend)"
	expect_stdout_contains "explain lists the narrowing" "entries made in $WS after the start"
	ab explain --json --backend builtin -C "$WS"
	expect_stdout_contains "other backends report an exact filesystem" '"filesystem_exact":true'
}

case_landlock_no_stray_processes() {
	ll_only_once || return 0
	new_ws
	mkdir "$WS/sub"
	# Durations no other process on the machine uses, so that pgrep finds
	# only these.
	local mark=$$
	ab run --backend landlock --policy workspace-write -C "$WS" -- \
		sh -c "sh -c 'sleep 300.$mark' </dev/null >/dev/null 2>&1 & echo \$! >sub/pid; (sleep 301.$mark &); exit 0"
	expect_exit "the command exits" 0
	local pid
	pid=$(cat "$WS/sub/pid" 2>/dev/null)
	expect "the daemonised grandchild is gone" '[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null'
	expect "no sleep 300/301 survives" '! pgrep -u "$(id -u)" -f "^sleep 30[01]\.$mark\$" >/dev/null'
}

case_landlock_exit_status() {
	ll_only_once || return 0
	new_ws
	expect_exit "exit status is propagated" 7 -- run --backend landlock -C "$WS" -- sh -c 'exit 7'
	expect_exit "death by signal is 128+N" 143 -- run --backend landlock -C "$WS" -- sh -c 'kill -TERM $$'
	expect_exit "a missing command is 127" 127 -- run --backend landlock -C "$WS" -- /nonexistent/cmd
	expect_exit "timeout kills the sandbox (124)" 124 -- run --backend landlock --timeout 0.5 -C "$WS" -- sleep 30
}

# kill -9 of agentbox during a Landlock run: its reaper sees the
# supervisor's pipe reach EOF and ends the command and the daemonised
# (orphaned) grandchild, instead of leaving them to init. Grandchildren
# that leave the process group (setsid): t_ll_procs.sh.
case_landlock_kill9_leaves_nothing() {
	ll_only_once || return 0
	new_ws
	mkdir "$WS/sub"
	local mark=$$ i
	"$AGENTBOX" run --backend landlock --policy workspace-write -C "$WS" -- \
		sh -c "(sh -c 'sleep 302.$mark' </dev/null >/dev/null 2>&1 &); echo started >sub/pid; exec sleep 303.$mark" \
		</dev/null >/dev/null 2>&1 &
	local ab_pid=$!
	bg_track "$ab_pid"
	wait_for_file "$WS/sub/pid" . 100
	# both sleeps exist before the kill (else the case proves nothing)
	for ((i = 0; i < 100; i++)); do
		[ "$(pgrep -u "$(id -u)" -f "^sleep 30[23]\.$mark\$" | wc -l)" -eq 2 ] && break
		sleep 0.1
	done
	expect "the command and its daemonised grandchild run" \
		'[ "$(pgrep -u "$(id -u)" -f "^sleep 30[23]\.$mark\$" | wc -l)" -eq 2 ]'
	kill -9 "$ab_pid"
	wait "$ab_pid" 2>/dev/null
	# the reaper needs a moment after agentbox's death; wait up to 10 s
	for ((i = 0; i < 100; i++)); do
		pgrep -u "$(id -u)" -f "^sleep 30[23]\.$mark\$" >/dev/null || break
		sleep 0.1
	done
	expect "after kill -9 of agentbox nothing of the run is left" \
		'! pgrep -u "$(id -u)" -f "^sleep 30[23]\.$mark\$" >/dev/null'
}

# A chain that keeps re-growing (each generation starts the next and
# exits, so its pid keeps changing) is still ended: SIGSTOP rounds until
# nothing runs, then SIGKILL.
case_landlock_regrowing_chain() {
	ll_only_once || return 0
	new_ws
	mkdir "$WS/sub"
	local mark=$$
	# bounded (20000 generations), so that a failure does not leave it
	# running for long
	cat >"$WS/sub/chain.sh" <<'SH'
[ "$1" -gt 0 ] || exit 0
echo "$1" >sub/gen
sh sub/chain.sh $(($1 - 1)) "$2" &
exit 0
SH
	ab run --backend landlock --policy workspace-write -C "$WS" -- \
		sh -c "sh sub/chain.sh 20000 $mark & i=0; while [ \$i -lt 200 ]; do g=\$(cat sub/gen 2>/dev/null); [ -n \"\$g\" ] && [ \"\$g\" -lt 19980 ] && exit 0; sleep 0.05; i=\$((i+1)); done; exit 1"
	expect_exit "the chain grew 20 generations while the command ran" 0
	expect "no generation of the chain survives the run" \
		'! pgrep -u "$(id -u)" -f "^sh sub/chain\.sh [0-9]+ $mark\$" >/dev/null'
}

# A program linking libagentbox: a child it starts itself from another
# thread while a Landlock run lasts survives the run (the program is not
# made a subreaper, nothing of its own is reaped).
case_landlock_library_own_child() {
	ll_only_once || return 0
	new_ws
	abx "$(dirname "$AGENTBOX")/ll_lib" own-child "$WS"
	expect_exit "the program's own child outlives the Landlock run" 0
	expect_stdout_contains "ll_lib says so" "own child survived"
}

# Two Landlock runs from two threads of one program run at the same time
# (each command waits for the other's file), and each one's daemonised
# leftover is ended.
case_landlock_library_two_threads() {
	ll_only_once || return 0
	new_ws
	mkdir "$WS/sub"
	local mark=$$
	abx "$(dirname "$AGENTBOX")/ll_lib" two "$WS" "$mark"
	expect_exit "both Landlock runs ran side by side" 0
	expect_stdout_contains "each command exited 0" "both ran: 0 0"
	expect "neither run's daemonised sleep survives" \
		'! pgrep -u "$(id -u)" -f "^sleep 300\.$mark\$" >/dev/null'
}

# System V IPC: no IPC namespace on this backend, so the filter refuses
# every call; a segment the host made (same uid, mode 0600) cannot be
# attached, read or written. The namespace backends are unchanged: the
# command makes and uses a segment of its own namespace.
LL_SHM_PY='
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
key = int(sys.argv[1])
if key == 0:
    shmid = libc.shmget(0, 4096, 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT
else:
    shmid = libc.shmget(key, 0, 0)
if shmid < 0:
    print("shmget:", os.strerror(ctypes.get_errno())); sys.exit(3)
addr = libc.shmat(shmid, None, 0)
if addr in (None, ctypes.c_void_p(-1).value):
    print("shmat:", os.strerror(ctypes.get_errno())); sys.exit(4)
print("read:", ctypes.string_at(addr, 6).decode(errors="replace"))
ctypes.memmove(addr, b"owned!", 6)
if key == 0:
    libc.shmctl(shmid, 0, None)  # IPC_RMID
'
case_landlock_sysv_ipc_refused() {
	ll_only_once || return 0
	new_ws
	local key=$((0x4142 + $(id -u) * 7 + $$ % 1000)) id
	id=$(/usr/bin/python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
i = libc.shmget(int(sys.argv[1]), 4096, 0o1000 | 0o600)
a = libc.shmat(i, None, 0)
ctypes.memmove(a, b"secret", 6)
print(i)' "$key")
	expect "a host segment was made for the case" '[ -n "$id" ] && [ "$id" -ge 0 ]'
	ab run --backend landlock --policy workspace-write -C "$WS" -- /usr/bin/python3 -c "$LL_SHM_PY" "$key"
	expect_exit "shmget on the host's segment is refused (exit 3)" 3
	expect_stdout_contains "with EPERM" "shmget: Operation not permitted"
	expect_stdout_lacks "nothing of it is read" "secret"
	ab run --backend landlock --policy workspace-write -C "$WS" -- sh -c 'ipcmk -M 4096'
	expect_nonzero "ipcmk cannot make a segment either"
	expect "the host's segment is unchanged" '[ "$(/usr/bin/python3 -c "$LL_SHM_PY" "$key")" = "read: secret" ]'
	ipcrm -m "$id" 2>/dev/null
	ab explain --backend landlock --policy workspace-write -C "$WS"
	expect_stdout_contains "explain says so" "System V IPC calls are refused"
}

# The namespace backends have an IPC namespace: System V IPC works there,
# on the sandbox's own objects.
case_sysv_ipc_own_namespace_unchanged() {
	new_ws
	ab run --policy workspace-write -C "$WS" -- /usr/bin/python3 -c "$LL_SHM_PY" 0
	expect_exit "a segment of the sandbox's own works on backend $BACKEND" 0
	expect_stdout_contains "it is attached and read" "read:"
}

# No terminal of the user's is reachable: with a second pty open on the
# host (the user's other terminal), the command can neither write into it
# nor read from it, while the terminal it was started on keeps working,
# also when opened again by name. A pty of its own cannot be made (that
# needs the host's /dev/pts). The host's other devices stay out too.
case_landlock_other_terminals_unreachable() {
	ll_only_once || return 0
	new_ws
	cat >"$CASE_DIR/ptys.py" <<'PY'
import os, pty, subprocess, sys, termios
om, osl = pty.openpty()        # the user's other terminal
attrs = termios.tcgetattr(osl)     # no echo: the master then reads only
attrs[3] &= ~termios.ECHO          # what someone wrote to the terminal
termios.tcsetattr(osl, termios.TCSANOW, attrs)
m, s = pty.openpty()           # the terminal the command is started on
other = os.ttyname(osl)
os.write(om, b"typed-password\n")  # what the user typed there, unread
p = subprocess.run(sys.argv[1:] + [other, os.ttyname(s)], stdin=s,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
sys.stdout.write(p.stdout.decode(errors="replace"))
os.set_blocking(om, False)
try:
    leaked = os.read(om, 4096)
except BlockingIOError:
    leaked = b""
print("OTHER-GOT:", repr(leaked))
print("rc", p.returncode)
PY
	abx /usr/bin/python3 "$CASE_DIR/ptys.py" "$AGENTBOX" run --backend landlock --policy workspace-write -C "$WS" -- \
		/bin/sh -c '
		printf "\033]0;pwned\007injected" >"$1" 2>/dev/null && echo WROTE-OTHER
		timeout 2 head -c 5 "$1" 2>/dev/null && echo READ-OTHER
		[ "$(tty)" = "$2" ] && echo OWN-TTY
		stty size >/dev/null && echo OWN-IOCTL
		echo reopened >/proc/self/fd/0 && echo OWN-REOPEN
		/usr/bin/python3 -c "import pty; pty.openpty()" 2>/dev/null || echo NO-NEW-PTY
		' sh
	expect_exit "the harness ran" 0
	expect_stdout_lacks "the other terminal cannot be written" "WROTE-OTHER"
	expect_stdout_lacks "the other terminal cannot be read" "READ-OTHER"
	expect_stdout_contains "nothing reached the other terminal" "OTHER-GOT: b''"
	expect_stdout_lacks "what was typed there did not leak" "typed-pass"
	expect_stdout_contains "the command's own terminal is its stdin" "OWN-TTY"
	expect_stdout_contains "ioctl on its own terminal works" "OWN-IOCTL"
	expect_stdout_contains "its own terminal can be opened again by name" "OWN-REOPEN"
	expect_stdout_contains "no pty of its own (needs the host's /dev/pts)" "NO-NEW-PTY"
	expect_stdout_contains "the command exited 0" "rc 0"
	if [ "$(id -u)" = 0 ] && { [ -b /dev/vda ] || [ -b /dev/sda ]; }; then
		local disk=/dev/vda
		[ -b "$disk" ] || disk=/dev/sda
		ab run --backend landlock --policy read-only -C "$WS" -- head -c 512 "$disk"
		expect_nonzero "root cannot read the host's disk $disk through a readable /"
	fi
	ab run --backend landlock --policy read-only -C "$WS" -- sh -c 'echo x >/dev/null && head -c 4 /dev/urandom | wc -c && ls /dev/pts >/dev/null && echo listed'
	expect_stdout_eq "/dev/null and /dev/urandom work, /dev/pts may be listed" "4
listed"
}

# The fresh TMPDIR goes at the end of the run whatever the command left in
# it: a mode-000 directory with files, a 300-level chain (deeper than any
# fd budget of a recursive walk), read-only files and directories, and a
# symlink out of it, which must not be followed.
case_landlock_tmpdir_removed_whatever_is_left() {
	ll_only_once || return 0
	new_ws
	new_outside
	mkdir "$WS/sub"
	echo keep >"$OUTSIDE/keep"
	chmod 0644 "$OUTSIDE/keep"
	ab run --backend landlock --policy workspace-write -C "$WS" -- sh -c '
		set -e
		cd "$TMPDIR"; echo "$TMPDIR" >"$1/sub/tmp"
		mkdir locked; echo a >locked/a; echo b >locked/b; chmod 000 locked
		echo r >readonly; chmod 400 readonly
		mkdir rodir; echo c >rodir/c; chmod 500 rodir
		ln -s "$2" out; ln -s "$2/keep" outkeep
		i=0; while [ $i -lt 300 ]; do mkdir d; cd d; i=$((i+1)); done
		echo deep >f; chmod 400 f; cd ..; chmod 000 d
		echo made' sh "$WS" "$OUTSIDE"
	expect_exit "the command made its mess" 0
	expect_stdout_eq "it got to the end" made
	local tmpdir
	tmpdir=$(cat "$WS/sub/tmp" 2>/dev/null)
	expect "the TMPDIR was one of agentbox's" '[[ "$tmpdir" == */agentbox-tmp-* ]]'
	expect "after the run nothing of it is left" '[ -n "$tmpdir" ] && [ ! -e "$tmpdir" ] && [ ! -L "$tmpdir" ]'
	expect "no removal failure was reported" '! grep -q "cannot remove" <<<"$ERR"'
	expect "the symlinks' targets are untouched" \
		'[ "$(cat "$OUTSIDE/keep")" = keep ] && [ "$(stat -c %a "$OUTSIDE/keep")" = 644 ]'
}

# agentbox killed with -9 cannot remove the TMPDIR; the next Landlock run
# of the same user does (its record is in agentbox's state directory).
case_landlock_tmpdir_of_killed_run_removed_by_next() {
	ll_only_once || return 0
	new_ws
	mkdir "$WS/sub"
	local mark=$$ i
	"$AGENTBOX" run --backend landlock --policy workspace-write -C "$WS" -- \
		sh -c "mkdir \"\$TMPDIR/x\" && echo f >\"\$TMPDIR/x/f\" && chmod 000 \"\$TMPDIR/x\" && echo \"\$TMPDIR\" >sub/tmp; exec sleep 304.$mark" \
		</dev/null >/dev/null 2>&1 &
	local ab_pid=$!
	bg_track "$ab_pid"
	wait_for_file "$WS/sub/tmp" . 100
	local tmpdir
	tmpdir=$(cat "$WS/sub/tmp" 2>/dev/null)
	kill -9 "$ab_pid"
	wait "$ab_pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		pgrep -u "$(id -u)" -f "^sleep 304\.$mark\$" >/dev/null || break
		sleep 0.1
	done
	expect "the killed run left its TMPDIR (else this proves nothing)" '[ -n "$tmpdir" ] && [ -d "$tmpdir" ]'
	ab run --backend landlock --policy workspace-write -C "$WS" -- true
	expect_exit "the next run succeeds" 0
	expect "the next run removed the leftover" '[ -n "$tmpdir" ] && [ ! -e "$tmpdir" ]'
}

# A narrowed run says so on stderr at start, in one line, even with -q
# (like the note on a backend chosen by AGENTBOX_BACKEND): the command's
# bare "Permission denied" in the workspace root then has a visible cause.
# A plan this backend enforces exactly gets no such line; --exact refuses.
case_landlock_narrowing_said_at_start() {
	ll_only_once || return 0
	ll_repo
	ab run --backend landlock --policy workspace-write -C "$WS" -- sh -c 'touch new 2>/dev/null && echo created || echo refused'
	# With agentbox's broker (kernel 5.9+) creating in the workspace root
	# works and what stays narrowed is what later opens of such entries
	# get; without it, creation there is refused. Either way one line says
	# so, naming the workspace root and explain.
	if [ "$OUT" = created ]; then
		expect "one line names the workspace root, what stays refused and explain" \
			'[ "$(stderr_but_backend_note | grep -c "^agentbox: landlock backend: entries made in $WS after the start (agentbox.s broker creates them).*see \`agentbox explain\`$")" = 1 ]'
		rm -f "$WS/new"
	else
		expect_stdout_eq "without the broker, creating directly in the workspace root is refused" refused
		expect "one line names the workspace root, .git and explain" \
			'[ "$(stderr_but_backend_note | grep -c "^agentbox: landlock backend: creating, removing or renaming entries directly in $WS is refused (Landlock cannot otherwise keep $WS/.git read-only).*see \`agentbox explain\`$")" = 1 ]'
	fi
	expect "nothing else is said" '[ "$(stderr_but_backend_note | wc -l)" = 1 ]'
	rm -f "$WS/new"
	# -q (the library's quiet) silences it like the other warnings; the
	# start event still names the narrowings
	local ev=$CASE_DIR/ev.json
	abx sh -c '"$1" run -q --backend landlock --policy workspace-write -C "$2" --events-fd 3 -- true 3>"$3"' \
		sh "$AGENTBOX" "$WS" "$ev"
	expect_exit "the narrowed plan runs with -q" 0
	expect "with -q nothing is said" '[ -z "$(stderr_but_backend_note)" ]'
	expect "the start event still has the narrowings" 'grep -q "\"narrowings\":\[{" "$ev"'
	ab run --backend landlock --policy read-only -C "$WS" -- true
	expect_exit "an exactly enforced plan runs" 0
	expect "and gets no narrowing line" '! grep -q "landlock backend:" <<<"$ERR"'
	ab run --backend landlock --exact --policy workspace-write -C "$WS" -- true
	expect_exit "--exact still refuses the narrowed plan" 125
}
