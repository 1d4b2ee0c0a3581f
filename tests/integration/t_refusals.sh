# Every refusal is explained where the user looks (issue #15): at the end
# of a run agentbox prints one line per refused destination on stderr
# (unless -q) and puts the same list in the exit event's "refused"; the
# proxy's 403 says it too (reason phrase, x-agentbox-refused, body); under
# --net none the sandbox's no-route counters give the number of attempts
# to reach the outside. And --approvals-save writes a policy file that
# --policy-file reads. Runs on bwrap and the built-in engine, as root and
# as uid 65534 (the legacy-mount pass adds nothing: no mount is involved).

rf_prereqs() {
	if [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" = 1 ]; then
		return 1
	fi
	if [ ! -x /usr/bin/python3 ] || ! command -v curl >/dev/null; then
		skip "refusal cases" "needs /usr/bin/python3 and curl"
		return 1
	fi
	return 0
}

# rf_run ARGS...: agentbox run with its events in $CASE_DIR/ev.
rf_run() {
	abx "$AGENTBOX" run --events-fd 3 "$@" 3>"$CASE_DIR/ev"
}

# refused_lines: agentbox's refusal lines in the last run's stderr.
refused_lines() {
	grep -E '^agentbox: (refused|and [0-9]+ more)' "$CASE_DIR/.err" || true
}

# exit_py NAME SCRIPT: a python check with `refused` (the exit event's
# list, [] when absent) and `exit` loaded.
exit_py() {
	expect_success "$1" /usr/bin/python3 -c "
import json
ev = [json.loads(l) for l in open('$CASE_DIR/ev')]
exit = [e for e in ev if e.get('event') == 'exit'][-1]
refused = exit.get('refused', [])
$2"
}

expect_lines() {
	local name=$1 want=$2 got
	got=$(refused_lines)
	if [ "$got" = "$want" ]; then
		ok "$name"
	else
		fail "$name" "want:
$want
got:
$got
stderr: $(head -c 2000 "$CASE_DIR/.err")"
	fi
}

PROXY_SCRIPT='
curl -s --max-time 5 -o /dev/null http://bad.allowed.example/
curl -s --max-time 5 -o /dev/null http://bad.allowed.example/x
curl -s --max-time 5 -o /dev/null http://10.1.2.3:8080/
curl -s --max-time 5 -o /dev/null --noproxy "" http://localhost:9/
curl -s --max-time 5 -o /dev/null http://unlisted.example/
curl -s --max-time 5 -o /dev/null https://unlisted.example/
true'

PROXY_LINES="agentbox: refused bad.allowed.example:80 (denied by the rule 'bad.allowed.example'); to allow: remove the deny rule 'bad.allowed.example' (--deny-domain or the policy file's network.deny)
agentbox: refused 10.1.2.3:8080 (a non-public address: only a rule naming the host exactly opens it); to allow: --allow-domain 10.1.2.3:8080
agentbox: refused localhost:9 (no rule allows it); to allow: --allow-domain localhost:9
agentbox: refused unlisted.example:80 (no rule allows it); to allow: --allow-domain unlisted.example
agentbox: refused unlisted.example:443 (no rule allows it); to allow: --allow-domain unlisted.example"

case_refusals_proxy_lines_on_stderr_and_in_the_exit_event() {
	rf_prereqs || return 0
	rf_run --net proxy --allow-domain '**.allowed.example' --deny-domain bad.allowed.example \
		-- sh -c "$PROXY_SCRIPT"
	expect_exit "the command ran" 0
	expect_lines "one line per destination (a deny rule, a non-public literal, no rule; http and https), in order" "$PROXY_LINES"
	exit_py "the exit event lists the same, with codes and counts" "
got = [(r['host'], r['port'], r['code'], r['count']) for r in refused]
assert got == [('bad.allowed.example', 80, 'denied', 2), ('10.1.2.3', 8080, 'not_allowed_local', 1),
               ('localhost', 9, 'not_allowed', 1), ('unlisted.example', 80, 'not_allowed', 1),
               ('unlisted.example', 443, 'not_allowed', 1)], refused
assert refused[3]['reason'] == 'no rule allows it', refused
assert refused[3]['allow_with'] == '--allow-domain unlisted.example', refused
assert 'refused_more' not in exit, exit"
	# after the command's own output: the lines are the last thing said
	if tail -n 1 "$CASE_DIR/.err" | grep -q '^agentbox: refused unlisted.example:443'; then
		ok "the lines come at the end of the run"
	else
		fail "the lines come at the end of the run" "$(tail -n 3 "$CASE_DIR/.err")"
	fi
	# a wildcard allows the name, its address is refused after the lookup
	rf_run --net proxy --allow-domain '*' -- sh -c 'curl -s --max-time 5 -o /dev/null --noproxy "" http://localhost:9/; true'
	expect_lines "a name that resolves to loopback under a wildcard rule" \
		"agentbox: refused localhost:9 (a non-public address: only a rule naming the host exactly opens it); to allow: --allow-domain localhost:9"
	exit_py "... code not_allowed_local" "assert [r['code'] for r in refused] == ['not_allowed_local'], refused"
}

case_refusals_quiet_keeps_the_event_but_not_the_lines() {
	rf_prereqs || return 0
	rf_run -q --net proxy --allow-domain '**.allowed.example' --deny-domain bad.allowed.example \
		-- sh -c "$PROXY_SCRIPT"
	expect_exit "the command ran" 0
	expect_lines "-q: no refusal line" ""
	exit_py "-q: the exit event still lists them" "assert len(refused) == 5, refused"
}

case_refusals_proxy_403_says_it_where_tools_show_it() {
	rf_prereqs || return 0
	ab run -q --net proxy -- sh -c '
		curl -s --max-time 5 http://unlisted.example/; echo
		curl -s --max-time 5 -D - -o /dev/null http://unlisted.example/
		curl -sv --max-time 5 -o /dev/null https://unlisted.example/ 2>&1 | grep "^< "
		python3 -c "
import urllib.request
try:
    urllib.request.urlopen(\"https://unlisted.example/\", timeout=5)
except Exception as e:
    print(\"python:\", e)"'
	local line="agentbox: refused unlisted.example:80 (no rule allows it); to allow: --allow-domain unlisted.example"
	local tls="agentbox: refused unlisted.example:443 (no rule allows it); to allow: --allow-domain unlisted.example"
	expect_stdout_contains "the body (what curl prints) starts with the line" "{\"refused\":\"$line\""
	expect_stdout_contains "the reason phrase (plain HTTP)" "HTTP/1.1 403 Forbidden: $line"
	expect_stdout_contains "the x-agentbox-refused header" "x-agentbox-refused: $line"
	expect_stdout_contains "CONNECT: the reason phrase (curl -v)" "< HTTP/1.1 403 Forbidden: $tls"
	expect_stdout_contains "python (pip's urllib3 too) shows the reason phrase" \
		"python: <urlopen error Tunnel connection failed: 403 Forbidden: $tls>"
	expect_success "the body is one line" [ "$(grep -c '"refused":' "$CASE_DIR/.out")" = 1 ]
}

case_refusals_bounded_to_twenty_lines() {
	rf_prereqs || return 0
	rf_run --net proxy -- sh -c '
		i=0; while [ $i -lt 25 ]; do
			curl -s --max-time 5 -o /dev/null http://h$i.unlisted.example/; i=$((i+1)); done'
	expect_exit "the command ran" 0
	local n
	n=$(refused_lines | grep -c '^agentbox: refused h')
	expect_success "twenty lines of destinations" [ "$n" = 20 ]
	expect_lines "... the first twenty, then one more line" "$(
		for i in $(seq 0 19); do
			echo "agentbox: refused h$i.unlisted.example:80 (no rule allows it); to allow: --allow-domain h$i.unlisted.example"
		done
		echo "agentbox: and 5 more refused destinations (the network events name each)")"
	exit_py "the exit event: twenty, and refused_more" "
assert len(refused) == 20 and exit['refused_more'] == 5, exit"
}

# A resolver on the loopback (127.0.0.53) is the sandbox's own loopback
# there, where nothing answers: not a "no route", not counted (README).
outside_resolver() {
	grep -E '^nameserver' /etc/resolv.conf 2>/dev/null |
		grep -vqE 'nameserver (127\.|::1)'
}

case_refusals_net_none_counts_attempts_to_the_outside() {
	rf_prereqs || return 0
	local want="agentbox: refused 2 attempts to reach the outside (connections or DNS lookups): the network is off; to allow: --net proxy --allow-domain HOST, or --net full"
	rf_run --net none -- /usr/bin/python3 -c '
import socket
for fam, addr in ((socket.AF_INET, ("192.0.2.1", 80)), (socket.AF_INET6, ("2001:db8::1", 443))):
    s = socket.socket(fam)
    try:
        s.connect(addr)
    except OSError as e:
        print(e.errno)'
	expect_stdout_eq "both connections fail: network unreachable" "$(printf '101\n101')"
	expect_lines "one line with the count (IPv4 and IPv6)" "$want"
	exit_py "the exit event: network_off with the count, no host" "
assert [(r['host'], r['port'], r['code'], r['count']) for r in refused] == [(None, None, 'network_off', 2)], refused
assert refused[0]['allow_with'] == '--net proxy --allow-domain HOST, or --net full', refused"

	rf_run --net none -- /usr/bin/python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
c = socket.create_connection(s.getsockname()); a, _ = s.accept()
c.sendall(b"x"); print(a.recv(1).decode())
d = socket.socket()
try:
    d.connect(s.getsockname()[:1] + (1,))
except OSError as e:
    print(e.errno)'
	expect_stdout_eq "its own loopback works; a closed local port is refused by the kernel" "$(printf 'x\n111')"
	expect_lines "loopback traffic is not reported" ""
	exit_py "... nor in the exit event" "assert refused == [] and 'refused_more' not in exit, exit"

	rf_run -q --net none -- sh -c 'curl -s --max-time 5 http://192.0.2.1/; true'
	expect_lines "-q: no line" ""
	exit_py "-q: the exit event has it" "assert refused[0]['code'] == 'network_off', refused"

	if ! outside_resolver; then
		skip "a DNS lookup under --net none is counted" "the resolver is on the loopback here (or none)"
		return 0
	fi
	rf_run --net none -- /usr/bin/python3 -c '
import socket
try:
    socket.getaddrinfo("example.com", 80)
except OSError as e:
    print("lookup failed")'
	expect_stdout_eq "the lookup fails" "lookup failed"
	if refused_lines | grep -qE '^agentbox: refused [0-9]+ attempts? to reach the outside \(connections or DNS lookups\): the network is off'; then
		ok "a DNS lookup is counted"
	else
		fail "a DNS lookup is counted" "$(cat "$CASE_DIR/.err")"
	fi
}

# rf_approve SAVE ARGS...: agentbox run --net proxy with a co-process on
# --approvals-fd that answers every question with allow_always, saving
# into SAVE; the co-process's messages in $CASE_DIR/apv.log.
rf_approve() {
	local save=$1
	shift
	cat >"$CASE_DIR/approver.py" <<'PY'
import json, socket, subprocess, sys
log = open(sys.argv[1], "w")
mine, theirs = socket.socketpair()
child = subprocess.Popen(sys.argv[2:3] + ["run", "--approvals-fd", str(theirs.fileno())] + sys.argv[3:],
                         pass_fds=[theirs.fileno()])
theirs.close()
for raw in mine.makefile("rb"):
    msg = json.loads(raw)
    log.write(json.dumps(msg) + "\n")
    log.flush()
    if msg.get("type") == "approval_request":
        mine.sendall((json.dumps({"id": msg["id"], "decision": "allow_always"}) + "\n").encode())
sys.exit(child.wait())
PY
	abx /usr/bin/python3 "$CASE_DIR/approver.py" "$CASE_DIR/apv.log" "$AGENTBOX" \
		--net proxy --approvals-save "$save" "$@"
}

case_refusals_approvals_save_round_trip() {
	rf_prereqs || return 0
	mkdir -p "$CASE_DIR/www"
	echo hello-saved >"$CASE_DIR/www/hello.txt"
	start_http_server "$CASE_DIR/www" || { fail "test server started"; return; }
	local up=$HTTP_PORT
	new_outside
	local save=$OUTSIDE/policy.json
	local get="curl -s --max-time 10 --noproxy '' http://localhost:$up/hello.txt"

	# a file that does not exist yet. The human's allow cannot open a
	# name that resolves to loopback (only a rule naming it exactly can):
	# the answer is saved, the connection refused, and the approvals fd
	# is told why.
	rf_approve "$save" -- sh -c "$get"
	expect_stdout_contains "asked, allowed always, then overruled by the address check" \
		'"decided_by":"non_public"'
	expect_success "the approvals fd got approval_overruled with the reason" /usr/bin/python3 -c "
import json
log = [json.loads(l) for l in open('$CASE_DIR/apv.log')]
o = [m for m in log if m['type'] == 'approval_overruled']
assert len(o) == 1 and o[0]['host'] == 'localhost' and o[0]['port'] == $up, log
assert 'resolves to 127.0.0.1' in o[0]['reason'], o
assert [m['pattern'] for m in log if m['type'] == 'approval_saved'] == ['localhost:$up'], log"
	expect_success "the file: versioned, version first, the pattern in network.allow" /usr/bin/python3 -c "
import json
text = open('$save').read()
assert text.startswith('{\n  \"version\": 1,\n'), text
p = json.loads(text)
assert p == {'version': 1, 'network': {'allow': ['localhost:$up'], 'mode': 'proxy'}}, p"
	ab run --policy read-only --policy-file "$save" -C / -- sh -c "$get"
	expect_stdout_eq "--policy-file reads it: the saved rule names the host exactly, allowed without asking" hello-saved
	expect_lines "... and nothing refused" ""

	# a file with other keys, and no version yet
	cat >"$save" <<EOF
{
  "preset": "workspace-write",
  "filesystem": {"/srv/data": "read"},
  "network": {"allow": ["example.org:443"], "deny": ["gist.github.com"]}
}
EOF
	rf_approve "$save" -- sh -c "$get"
	expect_stdout_contains "asked again (the file's rules do not cover it)" '"decided_by":"non_public"'
	expect_success "its keys kept in their order, the version added first, the pattern appended" /usr/bin/python3 -c "
import json
p = json.load(open('$save'))
assert list(p) == ['version', 'preset', 'filesystem', 'network'], list(p)
assert p['filesystem'] == {'/srv/data': 'read'}, p
assert p['network'] == {'allow': ['example.org:443', 'localhost:$up'], 'deny': ['gist.github.com'], 'mode': 'proxy'}, p
assert open('$save').read().count('\n') > 10, 'indented'"
	ab run --policy-file "$save" -C / -- sh -c "$get"
	expect_stdout_eq "--policy-file reads the merged file" hello-saved
}
