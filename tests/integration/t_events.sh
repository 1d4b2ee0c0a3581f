# --events-fd with a reader that does not keep up or goes away (issue #11):
# the run is never held up past a small bound, --timeout holds, what was
# dropped is counted in a last events_dropped line, and a reader that went
# away costs a warning, never the command's exit status (no death by
# SIGPIPE).

# A FIFO whose read end this shell holds (read-write, so that opening it
# does not wait) but does not read until agentbox is gone: a caller that
# drains the events only afterwards. Sets EVF (its path; fd 4 holds it).
stalled_fifo() {
	EVF=$CASE_DIR/events.fifo
	mkfifo "$EVF" || return 1
	exec 4<>"$EVF"
}

# drain_fifo FILE: what is in the FIFO on fd 4 now, without waiting for
# more (fd 4 is also a writer, so there is no end of file); closes fd 4.
drain_fifo() {
	/usr/bin/python3 -c '
import os, sys
os.set_blocking(0, False)
out = sys.stdout.buffer
try:
    while True:
        b = os.read(0, 65536)
        if not b:
            break
        out.write(b)
except BlockingIOError:
    pass
' <&4 >"$1"
	exec 4<&-
}

# Seconds since $1 (date +%s%N), with a tenth.
elapsed_since() {
	local ns=$(($(date +%s%N) - $1))
	printf '%d.%d' $((ns / 1000000000)) $((ns / 100000000 % 10))
}

ev_prereqs() {
	if [ ! -x /usr/bin/python3 ]; then
		skip "$1" "needs /usr/bin/python3"
		return 1
	fi
	return 0
}

# --net proxy cases: the bridge does not depend on the mount API, so the
# legacy-mount pass skips them (as t_netproxy.sh does).
ev_proxy_prereqs() {
	if [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" = 1 ]; then
		return 1
	fi
	ev_prereqs "$1"
}

# In the sandbox: refused requests to the proxy as fast as they go, each a
# `network` decision event of about 220 bytes; stops after $1 requests
# (0: never) and exits with status $2.
flood_script() {
	cat <<EOF
import socket, sys
n = 0
while $1 == 0 or n < $1:
    s = socket.create_connection(("127.0.0.1", 3128))
    s.sendall(b"GET http://unlisted.example/ HTTP/1.0\r\n\r\n")
    while s.recv(65536):
        pass
    s.close()
    n += 1
sys.exit($2)
EOF
}

case_events_stalled_reader_proxy_flood_timeout_holds() {
	ev_proxy_prereqs "a stalled events reader with --net proxy" || return 0
	stalled_fifo || { fail "mkfifo"; return; }
	local t0 secs
	t0=$(date +%s%N)
	AB_HANG_LIMIT=20 abx "$AGENTBOX" run --net proxy --timeout 2 --events-fd 3 -- \
		/usr/bin/python3 -c "$(flood_script 0 0)" 3>"$EVF"
	secs=$(elapsed_since "$t0")
	expect_exit "exit status is the timeout's" 124
	expect_stderr_contains "the timeout is reported" "timed out after 2 s"
	# 2 s of command, then stop: the proxy's queue waits for the reader
	# at most 100 ms. The rest of the bound is a busy machine's slack.
	expect "agentbox exits in under 6 s with a 2 s timeout (took $secs s)" \
		"[ ${secs%.*} -lt 6 ]"
	drain_fifo "$CASE_DIR/ev"
	expect_success "what the reader finds later: whole lines, the network events that fitted, then exit (timed out) and events_dropped with count > 0" \
		/usr/bin/python3 - "$CASE_DIR/ev" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
assert text.endswith("\n"), repr(text[-200:])
ev = [json.loads(l) for l in text.splitlines()]
assert ev[0]["event"] == "start", ev[0]
net = [e for e in ev if e["event"] == "network"]
assert len(net) > 100, len(net)
assert all(e["decision"] == "deny" for e in net), net[:3]
assert ev[-2]["event"] == "exit" and ev[-2]["timed_out"] is True and ev[-2]["status"] == 124, ev[-2]
last = ev[-1]
assert last["event"] == "events_dropped", last
assert last["count"] > 0, last
# the pipe held 64 KiB; more than that was produced
assert len(text) + last["count"] * 200 > 65536, (len(text), last)
print("network events read:", len(net), "dropped:", last["count"])
PY
}

# The pipe is already full when agentbox starts: even the start event
# cannot go; the supervisor waits at most its budget, and --timeout holds.
case_events_full_pipe_timeout_holds() {
	ev_prereqs "a full events pipe" || return 0
	stalled_fifo || { fail "mkfifo"; return; }
	# fill it through a non-blocking description of its own
	dd if=/dev/zero of=/dev/stdout bs=4096 count=64 oflag=nonblock status=none >&4 2>/dev/null
	local filled t0 secs
	filled=$(/usr/bin/python3 -c 'import fcntl, termios, array
b = array.array("i", [0]); fcntl.ioctl(0, termios.FIONREAD, b); print(b[0])' <&4)
	t0=$(date +%s%N)
	AB_HANG_LIMIT=20 abx "$AGENTBOX" run --timeout 2 --events-fd 3 -- sleep 30 3>"$EVF"
	secs=$(elapsed_since "$t0")
	expect_exit "exit status is the timeout's" 124
	expect "agentbox exits in under 6 s with a 2 s timeout (took $secs s)" \
		"[ ${secs%.*} -lt 6 ]"
	t0=$(date +%s%N)
	AB_HANG_LIMIT=20 abx "$AGENTBOX" run --events-fd 3 -- sh -c 'exit 3' 3>"$EVF"
	secs=$(elapsed_since "$t0")
	expect_exit "without a timeout: the command's status" 3
	expect "without a timeout: agentbox exits in under 3 s (took $secs s)" \
		"[ ${secs%.*} -lt 3 ]"
	drain_fifo "$CASE_DIR/ev"
	expect "nothing of agentbox's was written into the full pipe, not even part of a line ($filled bytes before, $(stat -c %s "$CASE_DIR/ev") after)" \
		"[ $filled -gt 0 ] && [ \$(tr -d '\\0' <\"$CASE_DIR/ev\" | wc -c) = 0 ] && [ \$(stat -c %s \"$CASE_DIR/ev\") = $filled ]"
}

# The reader went away before the first event: SIGPIPE at its default
# action (death) in agentbox, yet the command's status comes back, with
# one warning.
case_events_reader_gone_keeps_the_status() {
	ev_prereqs "an events reader that went away" || return 0
	mkfifo "$CASE_DIR/gone.fifo" || { fail "mkfifo"; return; }
	exec 4<>"$CASE_DIR/gone.fifo"
	exec 5>"$CASE_DIR/gone.fifo"
	exec 4<&-
	abx env --default-signal=PIPE "$AGENTBOX" run --events-fd 5 -- sh -c 'echo ran; exit 7'
	exec 5>&-
	expect_exit "exit status is the command's (not 141, death by SIGPIPE)" 7
	expect_stdout_eq "the command ran" ran
	expect "one warning that the reader went away" \
		"[ \$(grep -c 'the reader of the events fd 5 went away' <<<\"\$ERR\") = 1 ]"
}

# The reader reads one line and leaves while the proxy's writer thread has
# events to write: the same, from that thread.
case_events_reader_leaves_during_proxy_events() {
	ev_proxy_prereqs "an events reader that leaves during --net proxy" || return 0
	abx env --default-signal=PIPE "$AGENTBOX" run --net proxy --events-fd 3 -- \
		/usr/bin/python3 -c "$(flood_script 300 5)" 3> >(head -n 1 >"$CASE_DIR/first")
	expect_exit "exit status is the command's (not 141)" 5
	expect "one warning that the reader went away" \
		"[ \$(grep -c 'the reader of the events fd 3 went away' <<<\"\$ERR\") = 1 ]"
	expect_success "the reader got the start event" grep -q '"event":"start"' "$CASE_DIR/first"
}
