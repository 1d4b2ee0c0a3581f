# Local servers and unix sockets (issue #15). On the namespace backends
# the command has its own loopback (127.0.0.1 and ::1) under --net none and
# proxy, and unix sockets among its own processes; the host's loopback and
# abstract sockets stay out of reach, the socket never-list hides the
# host's dangerous sockets in every mode (--net full included), and
# --allow-unix binds one host socket in by its inode. On Landlock (no
# network namespace) loopback servers and unix connect stay refused.

# The swap helpers (exchange, can_exchange, held_run) are
# t_start_race.sh's; run.sh finds cases by this
# file's own text, so sourcing it adds none of its cases here.
# shellcheck source=t_start_race.sh
. "$TESTS_DIR/t_start_race.sh"

# wait_exists FILE: until FILE exists (5 s at most).
wait_exists() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# events_run ARGS... -- COMMAND: agentbox run with its events (only) as
# OUT.
events_run() {
	abx bash -c 'exec "$@" 3>&1 >/dev/null' _ "$AGENTBOX" run --events-fd 3 "$@"
}

sockets_prereqs() {
	if [ ! -x /usr/bin/python3 ]; then
		skip "socket cases" "needs /usr/bin/python3"
		return 1
	fi
	return 0
}

# write_socket_tools: $CASE_DIR/srv.py PATH [MODE] serves "hello PATH"
# on a unix stream socket at PATH (touching PATH.ready once listening);
# $CASE_DIR/cli.py PATH prints "REACHED <answer>" or "REFUSED <errno>".
write_socket_tools() {
	cat >"$CASE_DIR/srv.py" <<'EOF'
import os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX)
if path.startswith("@"):
    s.bind("\0" + path[1:])
else:
    s.bind(path)
    os.chmod(path, int(sys.argv[2], 8) if len(sys.argv) > 2 else 0o666)
s.listen(8)
open(sys.argv[3] if len(sys.argv) > 3 else path + ".ready", "w").close()
while True:
    c, _ = s.accept()
    c.sendall(("hello " + path + "\n").encode())
    c.close()
EOF
	cat >"$CASE_DIR/cli.py" <<'EOF'
import errno, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX)
try:
    s.connect("\0" + path[1:] if path.startswith("@") else path)
    print("REACHED", s.recv(100).decode().strip())
except OSError as e:
    print("REFUSED", errno.errorcode.get(e.errno, e.errno))
EOF
	chmod 0755 "$CASE_DIR"
	chmod 0644 "$CASE_DIR/srv.py" "$CASE_DIR/cli.py"
}

# An HTTP server and its client, both inside, on 127.0.0.1 and on ::1.
LOOPBACK_HTTP='
import http.server, socket, sys, threading, urllib.request
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"inside")
    def log_message(self, *a): pass
class S6(http.server.HTTPServer):
    address_family = socket.AF_INET6
# straight to the server (t_proxyenv.sh checks that NO_PROXY keeps
# both direct for urllib without this)
direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for host, cls, url in (("127.0.0.1", http.server.HTTPServer, "127.0.0.1"),
                       ("::1", S6, "[::1]")):
    srv = cls((host, 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    body = direct.open("http://%s:%d/" % (url, srv.server_address[1]), timeout=5).read()
    print(host, body.decode())
    srv.shutdown()
'

case_sockets_loopback_http_server_inside() {
	sockets_prereqs || return 0
	local net
	for net in none proxy; do
		if [ "$net" = proxy ] && [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" = 1 ]; then
			continue # --net proxy needs the mount API (t_netproxy.sh)
		fi
		ab run --net "$net" -- /usr/bin/python3 -c "$LOOPBACK_HTTP"
		expect_exit "net $net: server and client inside run" 0
		expect_stdout_eq "net $net: 127.0.0.1 and ::1 both answer" \
			"$(printf '127.0.0.1 inside\n::1 inside')"
	done
	ab run -- cat /proc/net/if_inet6
	expect_stdout_contains "::1 is configured on the sandbox's lo" "00000000000000000000000000000001"
}

case_sockets_multiprocessing_manager_and_node_listen() {
	sockets_prereqs || return 0
	new_ws
	# workspace-write: the manager's socket goes in a temporary directory
	ab run --policy workspace-write -C "$WS" -- /usr/bin/python3 -c '
import multiprocessing
m = multiprocessing.Manager()
d = m.dict(); d["k"] = 41; d["k"] += 1
print(d["k"])
m.shutdown()'
	expect_exit "multiprocessing.Manager works under --net none" 0
	expect_stdout_eq "the manager's process answers" 42
	if command -v node >/dev/null; then
		ab run -- node -e 'const s=require("http").createServer().listen(0,()=>{console.log("listening");s.close()})'
		expect_stdout_eq "node listen(0) works under --net none" listening
	fi
}

case_sockets_unix_server_and_client_inside() {
	sockets_prereqs || return 0
	write_socket_tools
	new_ws
	ab run --write "$WS" -C "$WS" -- /bin/sh -c '
python3 "$1/srv.py" "$PWD/s.sock" 600 "$PWD/ready" & p=$!
i=0; while [ ! -e ready ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
python3 "$1/cli.py" "$PWD/s.sock"
python3 "$1/srv.py" @agentbox-it-inside 600 "$PWD/aready" & q=$!
i=0; while [ ! -e aready ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
python3 "$1/cli.py" @agentbox-it-inside
kill $p $q' sh "$CASE_DIR"
	expect_stdout_eq "a path and an abstract unix socket between the command's processes" \
		"$(printf 'REACHED hello %s\nREACHED hello @agentbox-it-inside' "$WS/s.sock")"
}

case_sockets_host_loopback_and_abstract_unreachable() {
	sockets_prereqs || return 0
	write_socket_tools
	start_tcp_sink || { skip "host loopback" "no listener"; return; }
	local conn="import socket; socket.create_connection(('127.0.0.1', $SINK_PORT), 2); print('connected')"
	abx /usr/bin/python3 -c "$conn"
	expect_stdout_eq "baseline: the host reaches its own listener" connected
	ab run -- /usr/bin/python3 -c "$conn"
	expect_stdout_lacks "net none: the host's 127.0.0.1 listener is not reachable" connected
	expect_stderr_contains "net none: refused by the sandbox's own loopback" ConnectionRefusedError

	local name="@agentbox-it-$$-$RANDOM"
	/usr/bin/python3 "$CASE_DIR/srv.py" "$name" 600 "$CASE_DIR/abstract.ready" &
	bg_track $!
	wait_exists "$CASE_DIR/abstract.ready" || { skip "host abstract socket" "no listener"; return; }
	abx /usr/bin/python3 "$CASE_DIR/cli.py" "$name"
	expect_stdout_eq "baseline: the host reaches its abstract socket" "REACHED hello $name"
	ab run -- /usr/bin/python3 "$CASE_DIR/cli.py" "$name"
	expect_stdout_eq "net none: the host's abstract socket is not in the sandbox's namespace" \
		"REFUSED ECONNREFUSED"
	if [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" != 1 ]; then
		ab run --net proxy -- /usr/bin/python3 "$CASE_DIR/cli.py" "$name"
		expect_stdout_eq "net proxy: nor under the proxy" "REFUSED ECONNREFUSED"
	fi
}

# private_run SCRIPT: SCRIPT in bash in a mount namespace of this test's
# own with a fresh tmpfs on /run (root: unshare -m; uid 65534: unshare -rm,
# which maps the user to root in a user namespace). Sets OUT, ERR, RC.
private_run() {
	local pre='mount -t tmpfs -o mode=0755 tmpfs /run || exit 99
mkdir -m 0755 /run/t && cp '"$CASE_DIR"'/srv.py '"$CASE_DIR"'/cli.py /run/t/ || exit 99
export SRV="/usr/bin/python3 /run/t/srv.py" CLI="/usr/bin/python3 /run/t/cli.py"
serve() { $SRV "$@" & PIDS="$PIDS $!"; i=0; while [ ! -e "$1.ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; }
trap "kill \$PIDS 2>/dev/null" EXIT
'
	if [ "$(id -u)" = 0 ]; then
		abx unshare -m --propagation private bash -c "$pre$1"
	else
		abx unshare -rm bash -c "$pre$1"
	fi
}

private_ns_usable() {
	private_run 'echo usable'
	if [ "$OUT" != usable ]; then
		skip "never-list cases" "cannot make a private mount namespace with a tmpfs on /run: $ERR"
		return 1
	fi
}

case_sockets_never_list_hidden_in_every_mode() {
	sockets_prereqs || return 0
	write_socket_tools
	private_ns_usable || return 0
	private_run '
U=$(id -u)
mkdir -p /run/dbus /run/user/$U
serve /run/docker.sock; serve /run/dbus/system_bus_socket; serve /run/user/$U/bus
for s in /run/docker.sock /run/dbus/system_bus_socket /run/user/$U/bus; do echo "host $($CLI $s)"; done
for net in none full; do
	for s in /run/docker.sock /run/dbus/system_bus_socket /run/user/$U/bus; do
		echo "$net $("$AGENTBOX" run --net $net -- $CLI $s 2>/dev/null)"
	done
done'
	local u
	u=$(grep -om1 '/run/user/[0-9]*/bus' <<<"$OUT")
	expect "baseline: the three sockets answer on the host" \
		'[ "$(grep -c "^host REACHED" <<<"$OUT")" = 3 ]'
	expect "none and full: Docker-like, D-Bus system and session sockets are hidden" \
		'[ "$(grep -cE "^(none|full) REFUSED" <<<"$OUT")" = 6 ]'
	expect "the runtime directory's bus was among them ($u)" '[ -n "$u" ]'
}

# The namespace backends keep the caller's supplementary groups: a
# docker.sock owned by one of them answers the caller on the host, and
# must not inside, even with --net full. Root only (setpriv adds the group).
case_sockets_never_list_beats_supplementary_group_under_net_full() {
	sockets_prereqs || return 0
	if [ "$(id -u)" != 0 ]; then
		skip "supplementary group" "needs root to give uid 65534 a supplementary group"
		return 0
	fi
	write_socket_tools
	private_ns_usable || return 0
	private_run '
serve /run/docker.sock 660; chgrp 4242 /run/docker.sock
AS="setpriv --reuid=65534 --regid=65534 --groups=4242"
echo "group $($AS $CLI /run/docker.sock)"
echo "nogroup $(setpriv --reuid=65534 --regid=65534 --clear-groups $CLI /run/docker.sock)"
echo "inside $($AS "$AGENTBOX" run --net full -- $CLI /run/docker.sock)"'
	expect_stdout_contains "baseline: the group member reaches the socket" "group REACHED"
	expect_stdout_contains "baseline: without the group it is refused" "nogroup REFUSED EACCES"
	expect_stdout_contains "net full inside: hidden although the caller is in its group" "inside REFUSED"
}

ssh_prereqs() {
	if ! command -v ssh-agent >/dev/null || ! command -v ssh-add >/dev/null; then
		skip "ssh-agent cases" "needs ssh-agent and ssh-add (openssh-client)"
		return 1
	fi
}

# start_agent PATH: an ssh-agent listening at PATH, tracked for cleanup.
start_agent() {
	ssh-agent -D -a "$1" >/dev/null 2>&1 &
	bg_track $!
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

case_sockets_allow_unix_ssh_agent() {
	ssh_prereqs || return 0
	mkdir -m 0700 "$CASE_DIR/agent"
	local sock=$CASE_DIR/agent/agent.sock
	start_agent "$sock" || { fail "ssh-agent started" ""; return; }
	abx env SSH_AUTH_SOCK="$sock" ssh-add -l
	expect_exit "baseline: ssh-add -l reaches the agent (no identities: 1)" 1
	# a hidden directory (as the never-list's /run/user/$UID is) ...
	ab run --deny "$CASE_DIR/agent" -- env SSH_AUTH_SOCK="$sock" ssh-add -l
	expect_exit "hidden: ssh-add cannot connect (2)" 2
	# ... reopened for the one socket
	ab run --deny "$CASE_DIR/agent" --allow-unix "$sock" -- env SSH_AUTH_SOCK="$sock" ssh-add -l
	expect_exit "--allow-unix: ssh-add -l reaches the agent" 1
	expect_stdout_contains "--allow-unix: the agent answers" "no identities"
	events_run --deny "$CASE_DIR/agent" --allow-unix "$sock" -- true
	expect_stdout_contains "the start event's posture lists the socket" "\"allow_unix\":[\"$sock\"]"
	# a policy file says the same
	printf '{"version": 1, "preset": "read-only", "filesystem": {"%s": "none"}, "network": {"allow_unix": ["%s"]}}\n' \
		"$CASE_DIR/agent" "$sock" >"$CASE_OUT/p.json"
	ab run --policy-file "$CASE_OUT/p.json" -- env SSH_AUTH_SOCK="$sock" ssh-add -l
	expect_exit "policy file allow_unix: ssh-add -l reaches the agent" 1
	ab run --allow-unix "$CASE_DIR/agent" -- true
	expect_exit "a directory is refused" 125
	expect_stderr_contains "the refusal says why" "is not a unix socket"
}

# An ssh-agent in the never-list's runtime directory: --allow-unix with
# its exact path reaches it, with a warning; nothing else there is shown.
case_sockets_allow_unix_inside_the_runtime_dir() {
	ssh_prereqs || return 0
	sockets_prereqs || return 0
	write_socket_tools
	private_ns_usable || return 0
	private_run '
U=$(id -u); mkdir -p -m 0700 /run/user/$U
ssh-agent -D -a /run/user/$U/ssh-agent.sock >/dev/null 2>&1 & PIDS="$PIDS $!"
serve /run/user/$U/bus
i=0; while [ ! -S /run/user/$U/ssh-agent.sock ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
"$AGENTBOX" run --allow-unix /run/user/$U/ssh-agent.sock -- sh -c "SSH_AUTH_SOCK=/run/user/$U/ssh-agent.sock ssh-add -l; echo rc=\$?; $CLI /run/user/$U/bus"'
	expect_stdout_contains "the allowed agent answers" "no identities"
	expect_stdout_contains "ssh-add -l exits 1 (connected, no keys)" "rc=1"
	expect_stdout_contains "the session bus next to it stays hidden" "REFUSED"
	expect_stderr_contains "a warning names the never-list" "on the socket never-list"
	private_run '
U=$(id -u); mkdir -p -m 0700 /run/user/$U
serve /run/user/$U/agent.sock
"$AGENTBOX" run --allow-unix /run/user/$U/agent.sock --events-fd 3 -- true 3>&1 >/dev/null 2>/dev/null'
	expect "the posture lists it under never_list_allowed" \
		'grep -q "\"never_list_allowed\":\[\"/run/user/[0-9]*/agent.sock\"\]" <<<"$OUT"'
}

# The allowed socket lies in a writable workspace; after planning it is
# swapped (rename exchange) for another socket or for a symbolic link to
# one. The backend must not bind the other one: the run is refused before
# the command exists.
case_sockets_allow_unix_symlink_swap_does_not_redirect() {
	sockets_prereqs || return 0
	if ! can_exchange; then
		skip "swaps between planning and mounting" "renameat2(RENAME_EXCHANGE) is not available here"
		return
	fi
	write_socket_tools
	new_ws
	/usr/bin/python3 "$CASE_DIR/srv.py" "$WS/agent.sock" 600 &
	bg_track $!
	/usr/bin/python3 "$CASE_DIR/srv.py" "$CASE_DIR/decoy.sock" 600 &
	bg_track $!
	/usr/bin/python3 "$CASE_DIR/srv.py" "$WS/decoy-twin.sock" 600 &
	bg_track $!
	wait_exists "$WS/agent.sock.ready" && wait_exists "$CASE_DIR/decoy.sock.ready" &&
		wait_exists "$WS/decoy-twin.sock.ready" || { fail "servers started" ""; return; }
	ln -s "$CASE_DIR/decoy.sock" "$WS/link.sock"
	local alt label
	for alt in "$WS/link.sock" "$WS/decoy-twin.sock"; do
		if [ -L "$alt" ]; then
			label="agent.sock swapped for a symlink to another socket"
		else
			label="agent.sock swapped for another socket"
		fi
		held_run "$WS/agent.sock" "$alt" "python3 $CASE_DIR/cli.py $WS/agent.sock" \
			--policy workspace-write --allow-unix "$WS/agent.sock"
		expect "$label: agentbox was held between planning and mounting" '[ "$HELD" = yes ]'
		expect_exit "$label: refused with 125" 125
		# builtin and the inner stage's check name the change; bubblewrap,
		# which follows a link, may fail to bind it first
		expect_stderr_matches "$label: the message names the socket" "^agentbox: .*$WS/agent\\.sock"
		expect "$label: the command never started" '[ "$STARTED" = no ] && [ -z "$OUT" ]'
		expect_stdout_lacks "$label: the decoy was never reached" "decoy"
	done
}

case_sockets_explain_and_posture() {
	ab explain -- true
	expect_stdout_contains "explain: a sockets section" "sockets:"
	expect_stdout_contains "explain: the sandbox's own loopback" "loopback: the sandbox's own (127.0.0.1 and ::1"
	events_run -- true
	expect_stdout_contains "start event: the sockets member" '"sockets":{"loopback":'
	expect_stdout_contains "start event: the never-list is hidden" '"never_list":"hidden"'
}

# Landlock: no network namespace, so no loopback servers (the listener
# would be on the host's loopback), no unix connect, and --allow-unix is
# refused under --net none; explain says so.
case_sockets_landlock_says_what_holds() {
	landlock_case "landlock sockets" || return 0
	sockets_prereqs || return 0
	new_ws
	ab run --backend landlock -C "$WS" -- /usr/bin/python3 -c "$LOOPBACK_HTTP"
	expect_nonzero "net none: a loopback server cannot start"
	expect_stderr_contains "net none: refused with EPERM" "PermissionError"
	ab explain --backend landlock -C "$WS" -- true
	expect_stdout_contains "explain: loopback refused, and why" "loopback: refused (no network namespace"
	events_run --backend landlock --net full -C "$WS" -- true
	expect_stdout_contains "net full: the posture says the never-list is not enforced" '"never_list":"NOT enforced'
	if command -v ssh-agent >/dev/null; then
		mkdir -m 0700 "$CASE_DIR/agent"
		start_agent "$CASE_DIR/agent/a.sock" || { fail "ssh-agent started" ""; return; }
		ab run --backend landlock -C "$WS" --allow-unix "$CASE_DIR/agent/a.sock" -- true
		expect_exit "--allow-unix under --net none is refused" 125
		expect_stderr_contains "the refusal says why and what to do" "use a namespace backend"
		ab explain --backend landlock -C "$WS" --allow-unix "$CASE_DIR/agent/a.sock" -- true
		expect_stdout_contains "explain says so too" "a.sock: refused on this backend under --net none"
	fi
}

# A run that may write /run (full access) blocks the missing
# /run/user/UID/agentbox of its hidden state directory with a placeholder
# at /run/user/UID while it lasts. Runs in parallel must take that
# placeholder for what it is, not for the never-list's runtime directory
# to hide: a hide there failed them at mount time when it went away.
case_sockets_never_list_ignores_a_parallel_runs_placeholder() {
	new_ws
	"$AGENTBOX" run -q --policy full-access -- sleep 3 >/dev/null 2>&1 &
	local first=$! i fails=0
	bg_track "$first"
	sleep 0.5
	for ((i = 0; i < 10; i++)); do
		ab run -q --policy workspace-write -C "$WS" -- /bin/true
		[ "$RC" = 0 ] || fails=$((fails + 1))
	done
	wait "$first"
	expect "no run in parallel with a full-access one failed ($fails did: ${ERR:0:200})" '[ "$fails" = 0 ]'
}
