# --approvals-tty on a sandboxed run: the command never shares the terminal
# the approvals are asked on. When its stdio is a terminal it gets a pty of
# agentbox's own, relayed by the supervisor, which is held while a question
# is on screen (no key reaches the command, none of its output reaches the
# screen). Driven through a real pty (python's pty module) that plays the
# user's terminal. Runs on bwrap and the built-in engine, as root and as
# uid 65534; the Landlock backend refuses --net proxy, so approvals never
# run there (checked last).

at_prereqs() {
	if [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" = 1 ]; then
		return 1 # the relay does not depend on the mount API
	fi
	if [ ! -x /usr/bin/python3 ] || ! command -v curl >/dev/null; then
		skip "approvals tty cases" "needs /usr/bin/python3 and curl"
		return 1
	fi
	new_ws
	return 0
}

# at_drive SCENARIO ARGS...: runs `agentbox ARGS...` on a fresh pty (its
# controlling terminal, 33 rows x 101 columns) with events on fd 3
# ($CASE_DIR/ev), and plays SCENARIO of at_driver.py as the user. The
# terminal's whole output goes to $CASE_DIR/screen; the driver's verdict
# ("driver ok" or why not) to $CASE_DIR/driver.
at_drive() {
	local scenario=$1
	shift
	cat >"$CASE_DIR/at_driver.py" <<'PY'
import fcntl, json, os, pty, select, struct, sys, termios, time
scenario, d, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    ev = os.open(d + "/ev", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    if ev != 3:
        os.dup2(ev, 3)
    os.set_inheritable(3, True)
    if scenario == "ttyfd":
        t = os.open("/dev/tty", os.O_RDWR)
        if t != 4:
            os.dup2(t, 4)
        os.set_inheritable(4, True)
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
# our view of the user's terminal (the pty's other end), for its modes
peer = fcntl.ioctl(fd, 0x5441, os.O_RDWR | os.O_NOCTTY)  # TIOCGPTPEER
seen = b""
def pump(wait):
    global seen
    r, _, _ = select.select([fd], [], [], wait)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            return False
        seen += data
    return True
def until(text, limit=20, count=1, after=0):
    end = time.time() + limit
    while seen[after:].count(text.encode()) < count:
        left = end - time.time()
        if left <= 0 or not pump(left):
            fail("waiting for %r" % text)
def drain(seconds):
    end = time.time() + seconds
    while time.time() < end and pump(end - time.time()):
        pass
def fail(why):
    open(d + "/screen", "wb").write(seen)
    sys.exit("%s; terminal so far: %r" % (why, seen[-3000:]))
def finish():
    # our peer keeps the pty open, so no end of file: wait for the exit
    end = time.time() + 20
    status = None
    while status is None:
        if time.time() > end:
            fail("agentbox did not exit")
        pump(0.1)
        p, st = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            status = st
    drain(0.3)
    open(d + "/screen", "wb").write(seen)
    lflag = termios.tcgetattr(peer)[3]
    if not (lflag & termios.ECHO and lflag & termios.ICANON):
        sys.exit("the terminal's modes were not restored: lflag %#x" % lflag)
    return os.waitstatus_to_exitcode(status)

if scenario == "hold":
    until("ready")
    q = "agentbox: allow a connection to one.example.invalid:80 (http)?"
    until(q)
    start = seen.rfind(q.encode())
    until(") > ", after=start)
    end_of_prompt = seen.index(b") > ", start) + 4
    # the command keeps painting and reading meanwhile: nothing of it
    # may follow the prompt on the screen until the answer
    drain(1.0)
    if seen[end_of_prompt:] != b"":
        fail("the command wrote after the prompt: %r" % seen[end_of_prompt:])
    os.write(fd, b"s\r")
    until("curl:")
    until("curl:502")
    os.write(fd, b"after\r")
    code = finish()
    if code != 0:
        fail("exit status %d" % code)
elif scenario == "interactive":
    until("ready")
    until("33 101")
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    # SIGWINCH and the keys go through the same loop; let it take both
    drain(0.5)
    os.write(fd, b"hello world\r")
    until("got:hello world")
    until("40 120")
    until("int-ready")
    os.write(fd, b"\x03")
    code = finish()
    if code != 3:
        fail("exit status %d, not 3 (the command's INT trap)" % code)
elif scenario == "always":
    save = argv[argv.index("--approvals-save") + 1]
    q = "agentbox: allow a connection to one.example.invalid:80 (http)?"
    until(q)
    until(") > ", after=seen.rfind(q.encode()))
    os.write(fd, b"a\r")
    confirm = 'save "one.example.invalid:80" (host one.example.invalid, port 80, any protocol) as ALLOWED in %s for every later run?' % save
    until(confirm)
    os.write(fd, b"n\r")
    until(q, count=2)
    if os.path.exists(save):
        fail("saved before the confirmation")
    os.write(fd, b"a\r")
    until(confirm, count=2)
    os.write(fd, b"y\r")
    until("curl:")
    code = finish()
    if code != 0:
        fail("exit status %d" % code)
    saved = json.load(open(save))
    if saved["network"]["allow"] != ["one.example.invalid:80"]:
        fail("saved %r" % saved)
elif scenario == "overruled":
    q = "agentbox: allow a connection to localhost:9 (http)?"
    until(q)
    start = seen.rfind(q.encode())
    until("(type a letter, then Enter; denied without an answer within 8 s) > ", after=start)
    # no answer yet: the question comes once more (after 4 s here)
    until("agentbox: (still waiting for your answer)\r\nagentbox: allow a connection to localhost:9 (http)?", limit=7)
    if seen.count(b"still waiting") != 1:
        fail("repeated more than once")
    os.write(fd, b"y\r")
    until("agentbox: localhost:9 was allowed, but refused all the same: localhost resolves to 127.0.0.1, a loopback address; only an allow rule naming the host exactly (no wildcard) opens it; to open it: --allow-domain localhost:9")
    until("curl:403")
    until("agentbox: refused localhost:9 (a non-public address: only a rule naming the host exactly opens it); to allow: --allow-domain localhost:9")
    code = finish()
    if code != 0:
        fail("exit status %d" % code)
    if seen.count(b"still waiting") != 1:
        fail("repeated more than once")
elif scenario == "ttyfd":
    code = finish()
    if code != 125:
        fail("exit status %d, not 125 (refused)" % code)
elif scenario == "plain":
    code = finish()
    if code != 0:
        fail("exit status %d" % code)
print("driver ok")
PY
	local pre=()
	if [ "$scenario" = plain ]; then
		# agentbox's own view of /dev: /dev/ptmx is /dev/null
		pre=(unshare -m --propagation private /bin/sh -c 'mount --bind /dev/null /dev/ptmx && exec "$@"' sh)
	fi
	LAST_CMD="at_driver.py $scenario agentbox $*"
	timeout -s KILL "$AB_HANG_LIMIT" /usr/bin/python3 "$CASE_DIR/at_driver.py" "$scenario" \
		"$CASE_DIR" "${pre[@]}" "$AGENTBOX" "$@" >"$CASE_DIR/driver" 2>&1 </dev/null
	RC=$?
}

at_driver_ok() {
	if [ "$RC" = 0 ] && grep -q "driver ok" "$CASE_DIR/driver"; then
		ok "$1"
	else
		fail "$1" "driver exit $RC: $(head -c 4000 "$CASE_DIR/driver")"
	fi
}

case_approvals_tty_command_cannot_read_the_answer_nor_draw_over_the_prompt() {
	at_prereqs || return 0
	# The command reads its stdin all along and paints fake prompts for
	# another host; the user answers the real one.
	at_drive hold run --net proxy --approvals-tty --approval-timeout 30 \
		--policy workspace-write -C "$WS" --events-fd 3 -- sh -c '
		( i=0; while [ $i -lt 300 ]; do
			printf "\033[2K\r\033[1A\033[2K\ragentbox: allow a connection to registry.example.org:443 (https_connect)?\n  [y] allow once > "
			sleep 0.02; i=$((i+1)); done ) &
		painter=$!
		( sleep 0.5
		  code=$(curl -sS --max-time 25 -o /dev/null -w "%{http_code}" http://one.example.invalid/ 2>/dev/null)
		  echo "curl:$code" ) &
		echo ready
		while IFS= read -r l; do
			echo "read:$l" >>stolen
			[ "$l" = after ] && break
		done
		kill $painter 2>/dev/null
		wait'
	at_driver_ok "the prompt shows the host requested, untouched; the answer allows it; the relay works after it"
	expect_file_content "the command read only what was typed after the answer" "$WS/stolen" "read:after"
	expect_success "the decision is the human's, for the host the command asked for" /usr/bin/python3 -c "
import json
ev = [json.loads(l) for l in open('$CASE_DIR/ev')]
dec = [e for e in ev if e.get('phase') == 'decision']
# the human's allow, then the lookup of the .invalid name fails
assert [(e['host'], e['port'], e['decided_by'], e['decision']) for e in dec] == \
    [('one.example.invalid', 80, 'human', 'allow'),
     ('one.example.invalid', 80, 'policy', 'deny')], dec
assert dec[0]['reason'] == 'approved on the terminal: allow_session', dec
start = [e for e in ev if e.get('event') == 'start'][-1]
assert start['posture']['proxy']['command_terminal'] == 'agentbox_pty', start"
}

case_approvals_tty_interactive_program_through_the_relay() {
	at_prereqs || return 0
	at_drive interactive run --net proxy --approvals-tty --policy workspace-write -C "$WS" \
		--events-fd 3 -- sh -c '
		stty size; echo ready
		read x; echo "got:$x"
		stty size
		ls /proc/self/fd | tr "\n" " " >fds
		read -r _ _ _ _ pgrp _ _ tpgid _ </proc/$$/stat
		[ "$pgrp" = "$tpgid" ] && echo foreground >fg
		[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo terminal >tty
		trap "exit 3" INT
		echo int-ready
		while :; do sleep 0.1; done'
	at_driver_ok "stty sees the terminal's size and its change; a line typed is read; ^C interrupts the command"
	expect_file_content "no descriptor of agentbox's (events, pty master, relay) reaches the command" \
		"$WS/fds" "0 1 2 3 "
	expect_file_content "the pty is the command's controlling terminal, the command in its foreground" \
		"$WS/fg" foreground
	expect_file_content "fds 0-2 are a terminal (the pty)" "$WS/tty" terminal
	if grep -q $'\033\\[0m' "$CASE_DIR/screen"; then
		fail "no prompt was drawn (no question asked)" "$(tail -c 500 "$CASE_DIR/screen")"
	else
		ok "no prompt was drawn (no question asked)"
	fi
}

case_approvals_tty_always_is_confirmed_before_saving() {
	at_prereqs || return 0
	# outside /tmp: a save file the run makes writable is refused
	new_outside
	local AT_SAVE=$OUTSIDE/saved.json
	at_drive always run --net proxy --approvals-tty --approval-timeout 30 \
		--approvals-save "$AT_SAVE" --policy workspace-write -C "$WS" -- sh -c '
		code=$(curl -sS --max-time 25 -o /dev/null -w "%{http_code}" http://one.example.invalid/ 2>/dev/null)
		echo "curl:$code"'
	at_driver_ok "\"always\" shows host, port and file; n goes back to the question; y saves"
}

case_approvals_tty_prompt_repeats_and_says_when_an_allow_is_overruled() {
	at_prereqs || return 0
	# localhost resolves to loopback: no answer can open it, only a rule
	# naming it exactly; the user who said yes learns it at once.
	at_drive overruled run --net proxy --approvals-tty --approval-timeout 8 \
		--policy workspace-write -C "$WS" --events-fd 3 -- sh -c '
		code=$(curl -sS --noproxy "" --max-time 20 -o /dev/null -w "%{http_code}" http://localhost:9/ 2>/dev/null)
		echo "curl:$code"'
	at_driver_ok "the prompt names the keys and Enter, comes once more unanswered, and an overruled yes is said on the terminal, then summed up at the end"
	expect_success "the events: the human's allow, then the address check's deny" /usr/bin/python3 -c "
import json
ev = [json.loads(l) for l in open('$CASE_DIR/ev')]
dec = [(e['decided_by'], e['decision']) for e in ev if e.get('phase') == 'decision']
assert dec == [('human', 'allow'), ('non_public', 'deny')], dec
exit = [e for e in ev if e.get('event') == 'exit'][-1]
assert [(r['host'], r['code']) for r in exit['refused']] == [('localhost', 'not_allowed_local')], exit"
}

case_approvals_tty_no_pty_gives_the_command_no_terminal() {
	at_prereqs || return 0
	if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
		return 0 # needs a mount namespace of its own to hide /dev/ptmx
	fi
	# /dev/ptmx replaced by /dev/null for agentbox alone: no pty can be
	# had, and the command must get no terminal rather than the shared one
	at_drive plain run --net proxy --approvals-tty --policy workspace-write -C "$WS" -- sh -c '
		for fd in 0 1 2; do [ -t $fd ] && echo "tty:$fd"; done >ttys
		l=$(readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2); echo "$l" >links
		read x && echo "read:$x" >>got; echo done >>got'
	at_driver_ok "the run works without a pty"
	expect_file_content "fds 0-2 are no terminal" "$WS/ttys" ""
	expect_file_content "they are /dev/null" "$WS/links" "$(printf '/dev/null\n/dev/null\n/dev/null')"
	expect_file_content "reading stdin gets end of file at once" "$WS/got" done
	expect_success "a no_pty warning says why and what the command got" \
		grep -q "agentbox: warning: cannot unlock the pseudo-terminal.*the command gets /dev/null instead of the terminal" \
		"$CASE_DIR/screen"
}

case_approvals_fd_on_the_commands_terminal_is_refused() {
	at_prereqs || return 0
	# fd 4: the same terminal as the command's stdio (agentbox's own)
	at_drive ttyfd run --net proxy --approvals-fd 4 -C "$WS" -- touch "$WS/ran"
	at_driver_ok "--approvals-fd on the command's own terminal: refused (exit 125)"
	expect_success "... saying why" grep -q \
		"approvals-fd 4 is the terminal that the command's stdin is on too" "$CASE_DIR/screen"
	expect_success "... and what to use instead" grep -q "fix: use --approvals-tty" "$CASE_DIR/screen"
	expect_absent "... before the command ran" "$WS/ran"
}

case_approvals_tty_without_a_terminal_the_command_keeps_its_pipes() {
	at_prereqs || return 0
	# stdio not a terminal: nothing to relay, the command keeps what it
	# was given (setsid: no controlling terminal, so the prompt cannot
	# open either, and the run says so)
	abx setsid -w "$AGENTBOX" run --net proxy --approvals-tty -C "$WS" -- true
	expect_exit "no controlling terminal: refused" 125
	expect_stderr_contains "... naming /dev/tty" "cannot open the controlling terminal /dev/tty"
}

case_approvals_tty_landlock_backend_refuses() {
	if [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" = 1 ] || [ "$BACKEND" != builtin ]; then
		return 0 # once per identity is enough
	fi
	new_ws
	AGENTBOX_BACKEND=landlock ab run --net proxy --approvals-tty -C "$WS" -- true
	expect_exit "landlock: --net proxy (and with it the approvals) refused" 125
	expect_stderr_contains "landlock: the reason" "needs a network namespace of its own"
}
