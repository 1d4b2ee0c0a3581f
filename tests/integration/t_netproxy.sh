# --net proxy: the command's only way out is agentbox's policy proxy,
# reached through listeners on 127.0.0.1:3128 (HTTP) and 127.0.0.1:1080
# (SOCKS5) in the sandbox's own network namespace. Runs with bwrap and the
# built-in engine, as root and as uid 65534 (the bridge does not depend on
# the mount API, so the legacy-mount pass skips it).

np_prereqs() {
	if [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" = 1 ]; then
		return 1
	fi
	if [ ! -x /usr/bin/python3 ] || ! command -v curl >/dev/null; then
		skip "--net proxy cases" "needs /usr/bin/python3 and curl"
		return 1
	fi
	mkdir -p "$CASE_DIR/www"
	echo hello-np >"$CASE_DIR/www/hello.txt"
	if ! start_http_server "$CASE_DIR/www"; then
		skip "--net proxy cases" "could not start a loopback HTTP server"
		return 1
	fi
	UP=$HTTP_PORT
	return 0
}

# abev ARGS...: agentbox with its events in $CASE_DIR/ev.
abev() {
	local sub=$1
	shift
	abx "$AGENTBOX" "$sub" --events-fd 3 "$@" 3>"$CASE_DIR/ev"
}

# ev_count ERE: how many event lines match.
ev_count() {
	grep -cE "$1" "$CASE_DIR/ev"
}

expect_events() {
	local name=$1 want=$2 re=$3
	local got
	got=$(ev_count "$re")
	if [ "$got" = "$want" ]; then
		ok "$name"
	else
		fail "$name" "want $want event(s) matching $re, got $got; events:
$(head -c 3000 "$CASE_DIR/ev")"
	fi
}

case_netproxy_gives_the_command_the_proxy_variables() {
	np_prereqs || return 0
	ab run --net proxy -- env
	expect_exit "env runs" 0
	local v
	for v in HTTP_PROXY=http://127.0.0.1:3128 https_proxy=http://127.0.0.1:3128 \
		ALL_PROXY=socks5h://127.0.0.1:1080 all_proxy=socks5h://127.0.0.1:1080 \
		'NO_PROXY=localhost,127.0.0.1,::1,[::1]' 'no_proxy=localhost,127.0.0.1,::1,[::1]' \
		npm_config_https_proxy=http://127.0.0.1:3128 YARN_HTTPS_PROXY=http://127.0.0.1:3128 \
		AGENTBOX_NETWORK=proxy; do
		if grep -qxF "$v" "$CASE_DIR/.out"; then
			ok "env has $v"
		else
			fail "env has $v" "$(grep -i proxy "$CASE_DIR/.out")"
		fi
	done
	# The caller's own proxy settings would lead around (or nowhere).
	HTTP_PROXY=http://10.9.9.9:1 no_proxy='*' ab run --net proxy -- sh -c 'echo "$HTTP_PROXY $no_proxy"'
	expect_stdout_eq "the caller's proxy variables are replaced" "http://127.0.0.1:3128 localhost,127.0.0.1,::1,[::1]"
}

case_netproxy_allowed_destination_through_http_connect_and_socks() {
	np_prereqs || return 0
	local url=http://127.0.0.1:$UP/hello.txt
	abev run --net proxy --allow-domain "127.0.0.1:$UP" -- sh -c "
		curl -sS --noproxy '' --max-time 5 $url
		curl -sS --noproxy '' --max-time 5 -p -x http://127.0.0.1:3128 $url
		curl -sS --noproxy '' --max-time 5 -x socks5h://127.0.0.1:1080 $url"
	expect_exit "curl through the proxy works" 0
	expect_stdout_eq "three answers" "$(printf 'hello-np\nhello-np\nhello-np')"
	expect_events "an allow event for plain HTTP" 1 \
		'"phase":"decision".*"protocol":"http","decision":"allow","decided_by":"rule","rule":"127.0.0.1:'"$UP"'"'
	expect_events "an allow event for CONNECT" 1 '"protocol":"https_connect","decision":"allow"'
	expect_events "an allow event for SOCKS5" 1 '"protocol":"socks5_tcp","decision":"allow"'
	expect_events "three end events with bytes received" 3 '"phase":"end".*"bytes_down":[1-9]'
	# The proxy's events come before the exit event: it is stopped first.
	if tail -n 1 "$CASE_DIR/ev" | grep -q '"event":"exit"'; then
		ok "the exit event is the last one"
	else
		fail "the exit event is the last one" "$(tail -n 3 "$CASE_DIR/ev")"
	fi
}

case_netproxy_refuses_what_no_rule_allows_and_what_a_rule_denies() {
	np_prereqs || return 0
	abev run --net proxy --allow-domain '**.allowed.example' --deny-domain 'bad.allowed.example' -- sh -c "
		curl -sS --noproxy '' --max-time 5 -D - -o /dev/null http://unlisted.example/
		curl -sS --noproxy '' --max-time 5 -D - -o /dev/null http://bad.allowed.example/
		curl -sS --noproxy '' --max-time 5 -x socks5h://127.0.0.1:1080 http://unlisted.example/; echo socks=\$?
		curl -sS --noproxy '' --max-time 5 http://127.0.0.1:$UP/hello.txt; echo loopback=\$?"
	expect_stdout_contains "unlisted: 403" "HTTP/1.1 403"
	expect_stdout_contains "unlisted: not in the allow list" "x-agentbox-error: blocked-by-allowlist"
	expect_stdout_contains "denied: by the deny list" "x-agentbox-error: blocked-by-denylist"
	expect_stdout_contains "SOCKS5: refused (curl 97)" "socks=97"
	expect_stdout_lacks "the host's loopback server is not reachable without a rule" hello-np
	expect_events "deny events" 4 '"phase":"decision".*"decision":"deny"'
	expect_events "the deny rule is named" 1 '"decision":"deny","decided_by":"rule","rule":"bad.allowed.example"'
}

case_netproxy_has_no_direct_route_out() {
	np_prereqs || return 0
	ab run --net proxy --allow-domain "127.0.0.1:$UP" -- sh -c "
		curl -sS --noproxy '*' --max-time 3 http://127.0.0.1:$UP/hello.txt; echo direct=\$?
		cat /proc/net/dev | sed 1,2d | cut -d: -f1 | tr -d ' '"
	expect_stdout_lacks "the host's loopback is not the sandbox's" hello-np
	expect_stdout_contains "a direct connection fails" "direct=7"
	expect_stdout_contains "only loopback exists" "lo"
	if [ "$(grep -cv -e '^direct=' -e '^lo$' "$CASE_DIR/.out")" = 0 ]; then
		ok "no interface but lo"
	else
		fail "no interface but lo" "$OUT"
	fi
	ab run --net proxy -- /usr/bin/python3 -c '
import socket, errno
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.connect(("192.0.2.1", 53)); s.send(b"x"); print("sent")
except OSError as e:
    print(errno.errorcode[e.errno])'
	expect_stdout_eq "UDP to a public address: network unreachable" ENETUNREACH
}

# Unix sockets under --net proxy (issue #15): a host socket the policy
# leaves visible is reachable (README: how to hide one), --deny hides it;
# netlink stays refused.
case_netproxy_unix_sockets_reach_only_what_the_policy_shows() {
	np_prereqs || return 0
	# A unix socket on the host, in a path the sandbox can read: connecting
	# to it needs no write access to the mount.
	/usr/bin/python3 -c '
import socket, sys, os
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
os.chmod(sys.argv[1], 0o777)
open(sys.argv[1] + ".ready", "w").write("ready\n")
while True:
    c, _ = s.accept(); c.recv(4096); c.sendall(b"HTTP/1.0 200 OK\r\n\r\nleaked\n"); c.close()' "$CASE_DIR/host.sock" &
	bg_track $!
	chmod 755 "$CASE_DIR"
	wait_for_file "$CASE_DIR/host.sock.ready" ready 50 || { fail "host unix socket started" ""; return; }
	local calls="socket_unix socket_netlink socketpair_unix socket_inet socket_inet6"
	# shellcheck disable=SC2086
	BASELINE=$("$PROBE" $calls)
	# shellcheck disable=SC2086
	ab run --net proxy -- "$PROBE" $calls
	PROBE_CTX="net proxy"
	probe_expect socket_unix ok
	probe_expect socket_netlink EPERM
	probe_expect socketpair_unix ok
	probe_expect socket_inet ok
	probe_expect socket_inet6 ok # "not available" on a kernel without IPv6
	ab run --net proxy -- curl -sS --max-time 3 --unix-socket "$CASE_DIR/host.sock" http://x/
	expect_stdout_contains "a visible host socket answers (documented)" leaked
	ab run --net proxy --deny "$CASE_DIR/host.sock" -- curl -sS --max-time 3 --unix-socket "$CASE_DIR/host.sock" http://x/
	expect_nonzero "--deny hides it: curl --unix-socket fails"
	expect_stdout_lacks "nothing comes back from the hidden socket" leaked
	ab run --net full -- curl -sS --max-time 3 --unix-socket "$CASE_DIR/host.sock" http://x/
	expect_stdout_contains "baseline: with --net full the same socket answers" leaked
}

case_netproxy_leaks_no_descriptor_into_the_command() {
	np_prereqs || return 0
	ab run --net none -- ls /proc/self/fd
	local none=$OUT
	ab run --net proxy -- ls /proc/self/fd
	expect_stdout_eq "the same descriptors as with --net none" "$none"
}

case_netproxy_ends_open_tunnels_and_timeouts() {
	np_prereqs || return 0
	# The command leaves a tunnel open and exits: the tunnel's end event
	# still comes, with its byte counts.
	abev run --net proxy --allow-domain "127.0.0.1:$UP" -- /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", 3128))
s.sendall(b"CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n" % sys.argv[1].encode())
print(s.recv(100).split(b"\r\n")[0].decode())
s.sendall(b"GET /hello.txt HTTP/1.0\r\n\r\n")
import time; time.sleep(0.3)
print("exiting")' "$UP"
	expect_stdout_contains "the tunnel opened" "200"
	expect_events "the open tunnel has an end event" 1 '"phase":"end".*"protocol":"https_connect".*"bytes_up":[1-9]'
	local t0=$SECONDS
	ab run --net proxy --timeout 1 -- sleep 20
	expect_exit "--timeout still works with the proxy" 124
	if [ $((SECONDS - t0)) -lt 10 ]; then
		ok "the run ends soon after the timeout"
	else
		fail "the run ends soon after the timeout" "took $((SECONDS - t0)) s"
	fi
}

case_netproxy_explain_shows_the_rules() {
	np_prereqs || return 0
	ab explain --net proxy --allow-domain '**.github.com' --deny-domain 'gist.github.com'
	expect_exit "explain works" 0
	expect_stdout_contains "explain: network proxy" "network: proxy"
	expect_stdout_contains "explain: the listeners" "HTTP on 127.0.0.1:3128, SOCKS5 on 127.0.0.1:1080"
	expect_stdout_contains "explain: allow list" "allow: **.github.com"
	expect_stdout_contains "explain: deny list" "deny: gist.github.com"
	ab explain --json --net proxy --allow-domain '**.github.com'
	expect_stdout_contains "explain --json: proxy section" '"proxy":{"http":"127.0.0.1:3128","socks5":"127.0.0.1:1080","allow":["**.github.com"],"deny":[]}'
}

case_netproxy_landlock_backend_refuses() {
	np_prereqs || return 0
	if [ "$BACKEND" != builtin ]; then
		return 0
	fi
	AGENTBOX_BACKEND=landlock ab run --net proxy -- true
	expect_exit "landlock + --net proxy: refused" 125
	expect_stderr_contains "landlock: the reason" "needs a network namespace of its own"
}

# np_approver ARGS...: runs `agentbox run --net proxy --approvals-fd N
# --events-fd M ARGS...` with a python co-process on the other end of the
# approvals socket, which answers each request with the next decision of
# $NP_ANSWERS (space-separated) and writes the requests it saw to
# $CASE_DIR/requests. Events go to $CASE_DIR/ev, the command's stdout to
# $CASE_DIR/.out.
np_approver() {
	cat >"$CASE_DIR/approver.py" <<'PY'
import json, os, socket, subprocess, sys
ab, d, answers, args = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4:]
mine, theirs = socket.socketpair()
ev = os.open(os.path.join(d, "ev"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
p = subprocess.Popen([ab, "run", "--net", "proxy", "--approvals-fd", str(theirs.fileno()),
                      "--events-fd", str(ev)] + args, pass_fds=[theirs.fileno(), ev],
                     stdin=subprocess.DEVNULL)
theirs.close()
os.close(ev)
seen = open(os.path.join(d, "requests"), "w")
for line in mine.makefile("rb"):
    m = json.loads(line)
    seen.write(json.dumps(m) + "\n")
    seen.flush()
    if m.get("type") == "approval_request":
        decision = answers.pop(0) if answers else "deny_once"
        mine.sendall((json.dumps({"id": m["id"], "decision": decision}) + "\n").encode())
sys.exit(p.wait())
PY
	abx /usr/bin/python3 "$CASE_DIR/approver.py" "$AGENTBOX" "$CASE_DIR" "$NP_ANSWERS" "$@"
}

case_netproxy_asks_the_approvals_channel() {
	np_prereqs || return 0
	local c="curl -sS --noproxy '' --max-time 5 -o /dev/null -w '%{http_code}\n'"
	NP_ANSWERS="allow_session deny_once" np_approver -- sh -c "
		$c http://one.example.invalid/
		$c http://one.example.invalid/
		$c http://two.example.invalid:8080/
		ls /proc/self/fd | tr '\n' ' '; echo"
	expect_exit "the run works" 0
	expect_stdout_eq "allowed (then no such name: 502), remembered, refused; no extra descriptor" \
		"$(printf '502\n502\n403\n0 1 2 3 ')"
	local n
	n=$(grep -c '"type": "approval_request"' "$CASE_DIR/requests")
	if [ "$n" = 2 ]; then
		ok "two questions: the session answer is remembered"
	else
		fail "two questions: the session answer is remembered" "$(cat "$CASE_DIR/requests")"
	fi
	if grep -q '"host": "one.example.invalid", "port": 80, "protocol": "http", "command": \["sh", "-c"' "$CASE_DIR/requests"; then
		ok "the request names host, port, protocol and the command"
	else
		fail "the request names host, port, protocol and the command" "$(cat "$CASE_DIR/requests")"
	fi
	expect_events "the human's allow is an event" 1 \
		'"host":"one.example.invalid".*"decision":"allow","decided_by":"human"'
	expect_events "the remembered answer is an event" 1 \
		'"host":"one.example.invalid".*"decision":"allow","decided_by":"session"'
	expect_events "the lookup failure after the allow is a deny" 2 \
		'"host":"one.example.invalid".*"decision":"deny","decided_by":"policy","rule":null,"reason":"dns_failed'
	expect_events "the human's deny is an event" 1 \
		'"host":"two.example.invalid","port":8080.*"decision":"deny","decided_by":"human"'
}

case_netproxy_without_a_channel_refuses_and_the_command_cannot_answer() {
	np_prereqs || return 0
	abev run --net proxy -- sh -c "
		curl -sS --noproxy '' --max-time 5 -o /dev/null -w '%{http_code}\n' http://three.example.invalid/
		(echo x >/dev/tty) 2>/dev/null && echo tty-open || echo no-tty"
	expect_stdout_eq "refused; the command has no terminal to answer on" "$(printf '403\nno-tty')"
	expect_events "decided by the missing channel" 1 '"decision":"deny","decided_by":"no_channel"'
}
