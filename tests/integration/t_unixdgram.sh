# No unix datagrams to the host under --net none and --net proxy (issue
# #12): a datagram socket names its destination on every send, and a read-
# only mount does not stop a send to a host socket's path, so the filter
# refuses unix sockets of datagram types there. A real receiver, bound on
# the host to a path the sandbox can see, counts what arrives; the sender
# tries every way in. Stream and seqpacket pairs keep working.

# The sender: each way of addressing a datagram to the receiver's path,
# one line per way ("WAY sent" or "WAY refused ERRNO"); the payload names
# the way, so the receiver's log says which one got through.
DGRAM_SENDER='
import errno, socket, sys
path = sys.argv[1]
U = socket.AF_UNIX
def dgram(t=socket.SOCK_DGRAM):
    return socket.socket(U, t)
def pair():
    return socket.socketpair(U, socket.SOCK_DGRAM)[0]
ways = {
    "socket_sendto": lambda w: dgram().sendto(w, path),
    "socket_sendmsg": lambda w: dgram().sendmsg([w], [], 0, path),
    "socket_connect_send": lambda w: (lambda s: (s.connect(path), s.send(w)))(dgram()),
    "socket_raw_sendto": lambda w: dgram(socket.SOCK_RAW).sendto(w, path),
    "socket_nonblock_sendmsg": lambda w: dgram(socket.SOCK_DGRAM | socket.SOCK_NONBLOCK).sendmsg([w], [], 0, path),
    "pair_connect_send": lambda w: (lambda s: (s.connect(path), s.send(w)))(pair()),
    "pair_sendmsg": lambda w: pair().sendmsg([w], [], 0, path),
    "pair_sendto": lambda w: pair().sendto(w, path),
}
for name, f in ways.items():
    try:
        f(name.encode())
        print(name, "sent")
    except OSError as e:
        print(name, "refused", errno.errorcode.get(e.errno, e.errno))
'

# start_dgram_receiver: a datagram socket bound to $RX_SOCK (in a
# directory every policy can read), logging each datagram as a line of
# $RX_LOG. Tracked for cleanup.
start_dgram_receiver() {
	new_outside
	RX_SOCK=$OUTSIDE/rx.sock
	RX_LOG=$CASE_DIR/rx.log
	: >"$RX_LOG"
	(exec /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    d = s.recv(256)
    with open(sys.argv[2], "a") as f:
        f.write(d.decode() + "\n")
' "$RX_SOCK" "$RX_LOG" >"$CASE_DIR/rx.ready" 2>&1) &
	bg_track $!
	wait_for_file "$CASE_DIR/rx.ready" ready 50
}

# rx_settled: the receiver has logged what was sent (a marker datagram
# sent from the host after the attempts arrives after them).
rx_settled() {
	/usr/bin/python3 -c '
import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"marker", sys.argv[1])' "$RX_SOCK"
	wait_for_file "$RX_LOG" marker 50
}

dgram_prereqs() {
	if [ ! -x /usr/bin/python3 ]; then
		skip "unix datagram cases" "needs /usr/bin/python3"
		return 1
	fi
	if ! start_dgram_receiver; then
		fail "the host receiver starts" "$(cat "$CASE_DIR/rx.ready")"
		return 1
	fi
	# baseline: from the host every way reaches the receiver
	/usr/bin/python3 -c "$DGRAM_SENDER" "$RX_SOCK" >"$CASE_DIR/host.out" 2>&1
	rx_settled
	local n
	n=$(grep -c . "$RX_LOG")
	if [ "$n" != 9 ]; then
		fail "baseline: from the host all 8 ways reach the receiver" \
			"log: $(cat "$RX_LOG")" "sender: $(cat "$CASE_DIR/host.out")"
		return 1
	fi
	ok "baseline: from the host all 8 ways reach the receiver"
	: >"$RX_LOG"
	return 0
}

# dgram_refused LABEL AGENTBOX-RUN-ARGS...: every way is refused with
# EPERM and nothing reaches the receiver.
dgram_refused() {
	local label=$1
	shift
	ab run "$@" -- /usr/bin/python3 -c "$DGRAM_SENDER" "$RX_SOCK"
	expect_exit "$label: the sender runs" 0
	expect "$label: every way is refused with EPERM" \
		'[ "$(grep -c " refused EPERM$" <<<"$OUT")" = 8 ]'
	rx_settled
	expect "$label: the host receiver got nothing" '[ "$(cat "$RX_LOG")" = marker ]'
	: >"$RX_LOG"
}

# Stream and seqpacket socket pairs between the command's processes
# (write/read: --net none refuses sendto, which send(2) is).
PAIR_CHECK='
import os, socket
for t in (socket.SOCK_STREAM, socket.SOCK_SEQPACKET):
    a, b = socket.socketpair(socket.AF_UNIX, t)
    if os.fork() == 0:
        os.write(a.fileno(), b"ping"); os._exit(0)
    os.wait()
    print(t, os.read(b.fileno(), 4).decode())
a, b = socket.socketpair()
os.write(a.fileno(), b"default"); print("default", os.read(b.fileno(), 7).decode())
'

pair_check() {
	local label=$1
	shift
	ab run "$@" -- /usr/bin/python3 -c "$PAIR_CHECK"
	expect_stdout_eq "$label: stream and seqpacket pairs work" \
		"$(printf '%s ping\n%s ping\ndefault default' 1 5)"
}

case_unixdgram_net_none_reaches_no_host_socket() {
	dgram_prereqs || return 0
	dgram_refused "net none" --net none
	pair_check "net none" --net none
	# --net full keeps unix datagrams (the host's network is there anyway)
	ab run --net full -- /usr/bin/python3 -c "$DGRAM_SENDER" "$RX_SOCK"
	expect "net full: every way is sent" '[ "$(grep -c " sent$" <<<"$OUT")" = 8 ]'
	rx_settled
	expect "net full: the receiver got all 8" '[ "$(grep -vc marker "$RX_LOG")" = 8 ]'
}

case_unixdgram_net_proxy_reaches_no_host_socket() {
	# --net proxy needs the mount API (t_netproxy.sh)
	if [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" = 1 ]; then
		skip "net proxy" "the legacy-mount pass has no --net proxy"
		return 0
	fi
	dgram_prereqs || return 0
	dgram_refused "net proxy" --net proxy
	pair_check "net proxy" --net proxy
}

# The Landlock backend runs the same inner stage and filter (it has no
# --net proxy).
case_unixdgram_landlock_backend() {
	landlock_case "landlock" || return 0
	dgram_prereqs || return 0
	dgram_refused "landlock, net none" --backend landlock --net none
	pair_check "landlock, net none" --backend landlock --net none
}
