# agentbox proxy approvals: destinations no rule covers are put to a
# co-process on --approvals-fd (a python script answering from a table) or
# to a person at a terminal (python's pty module). The proxy allows
# 127.0.0.1 and [::1] exactly, so "localhost" is the unmatched name whose
# approval lets a connection reach the local test servers.

apv_prereqs() {
	standalone_proxy_prereqs "approvals cases"
}

# apv_upstreams: two HTTP servers on 127.0.0.1; sets UP and UP2.
apv_upstreams() {
	mkdir -p "$CASE_DIR/www"
	echo hello-approvals >"$CASE_DIR/www/hello.txt"
	start_http_server "$CASE_DIR/www" || return 1
	UP=$HTTP_PORT
	start_http_server "$CASE_DIR/www" || return 1
	UP2=$HTTP_PORT
}

# apv_start NAME RULES-JSON ARGS...: agentbox proxy with a co-process on
# --approvals-fd answering from RULES ({"host:port[:protocol]": "steps"},
# steps separated by commas: a decision, "sleepS", "malformed", "close";
# no entry: never answer). Everything the co-process receives goes to
# $CASE_DIR/NAME.log, events to NAME.ev, stderr to NAME.err. Sets HP, SP.
apv_start() {
	local name=$1 rules=$2
	shift 2
	printf '%s\n' "$rules" >"$CASE_DIR/$name.rules"
	cat >"$CASE_DIR/answerer.py" <<'PY'
import json, os, signal, socket, subprocess, sys, time
log_path, rules_path, ready = sys.argv[1:4]
rules = json.load(open(rules_path))
mine, theirs = socket.socketpair()
child = subprocess.Popen(sys.argv[4:] + ["--approvals-fd", str(theirs.fileno())],
                         pass_fds=[theirs.fileno(), 3], stdout=open(ready, "w"))
theirs.close()
def stop(*_):
    # No child.wait() here: the handler may interrupt one (a lock).
    os.kill(child.pid, signal.SIGTERM)
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
log = open(log_path, "a")
for raw in mine.makefile("rb"):
    msg = json.loads(raw)
    log.write(json.dumps(msg) + "\n")
    log.flush()
    if msg.get("type") != "approval_request":
        continue
    key = "%s:%d" % (msg["host"], msg["port"])
    steps = rules.get("%s:%s" % (key, msg["protocol"]), rules.get(key, ""))
    for step in filter(None, steps.split(",")):
        if step.startswith("sleep"):
            time.sleep(float(step[5:]))
        elif step == "close":
            mine.shutdown(socket.SHUT_RDWR)
            mine.close()
            child.wait()
            os._exit(0)
        elif step == "malformed":
            mine.sendall(b'{"id": "x"}\nnot json\n{"id":999999,"decision":"allow_once"}\n'
                         b'{"id":%d,"decision":"maybe"}\n' % msg["id"] +
                         b"x" * 70000 + b"\n")
        else:
            mine.sendall((json.dumps({"id": msg["id"], "decision": step}) + "\n").encode())
child.wait()
PY
	: >"$CASE_DIR/$name.log"
	/usr/bin/python3 "$CASE_DIR/answerer.py" "$CASE_DIR/$name.log" "$CASE_DIR/$name.rules" \
		"$CASE_DIR/$name.ready" "$AGENTBOX" proxy --listen 127.0.0.1:0 \
		--socks-listen 127.0.0.1:0 --allow-domain 127.0.0.1 --allow-domain '[::1]' \
		--events-fd 3 "$@" 3>"$CASE_DIR/$name.ev" 2>"$CASE_DIR/$name.err" &
	bg_track $!
	proxy_ready "$name"
}

# apv_py NAME NAME-OF-RUN SCRIPT: a python check with `log` (the messages
# the co-process got) and `ev` (the network events) loaded.
apv_py() {
	expect_success "$1" /usr/bin/python3 -c "
import json
log = [json.loads(l) for l in open('$CASE_DIR/$2.log')]
ev = [json.loads(l) for l in open('$CASE_DIR/$2.ev')]
req = [m for m in log if m['type'] == 'approval_request']
dec = [e for e in ev if e['phase'] == 'decision']
$3"
}

# apv_get URL [CURL-ARGS...]: prints the HTTP status through the proxy.
apv_get() {
	local url=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 20 -x "http://127.0.0.1:$HP" "$@" "$url"
}

case_approvals_fd_dedup_and_once() {
	apv_prereqs || return
	apv_upstreams || { fail "upstream servers started"; return; }
	apv_start once "{\"localhost:$UP:http\": \"sleep1,allow_once\",
		\"localhost:$UP2:http\": \"allow_once\",
		\"localhost:$UP:https_connect\": \"deny_once\"}" || return
	local u=http://localhost:$UP/hello.txt
	apv_get "$u" >"$CASE_DIR/a1" &
	local p1=$!
	apv_get "$u" >"$CASE_DIR/a2" &
	local p2=$!
	wait $p1 $p2
	expect_success "two concurrent requests for one key, both allowed by one answer" \
		bash -c "[ \"\$(cat $CASE_DIR/a1)\" = 200 ] && [ \"\$(cat $CASE_DIR/a2)\" = 200 ]"
	apv_py "... and asked once" once "
assert len(req) == 1, log
r = req[0]
assert r['host'] == 'localhost' and r['port'] == $UP and r['protocol'] == 'http', r
assert r['command'] is None and isinstance(r['id'], int), r"
	expect_success "another port is another question" \
		bash -c "[ \"\$(curl -s --max-time 10 -x http://127.0.0.1:$HP http://localhost:$UP2/hello.txt)\" = hello-approvals ]"
	local st
	st=$(apv_get "$u" -p)
	expect_success "another protocol (CONNECT) is another question: denied once" [ "$st" = 000 ]
	st=$(apv_get "$u")
	expect_success "allow_once did not outlive its question: asked again, allowed" [ "$st" = 200 ]
	apv_py "requests: one per question, for the right keys" once "
keys = [(m['port'], m['protocol']) for m in req]
assert keys == [($UP, 'http'), ($UP2, 'http'), ($UP, 'https_connect'), ($UP, 'http')], keys"
	apv_py "events: decided_by human, the channel and the choice in the reason" once "
allow = [e for e in dec if e['decision'] == 'allow']
deny = [e for e in dec if e['decision'] == 'deny']
assert len(allow) == 4 and len(deny) == 1, dec
for e in allow:
    assert e['decided_by'] == 'human' and e['host'] == 'localhost', e
    assert e['reason'] == 'approved on the approvals fd: allow_once', e
assert deny[0]['decided_by'] == 'human' and deny[0]['protocol'] == 'https_connect', deny
assert deny[0]['reason'] == 'not_allowed: denied on the approvals fd: deny_once', deny"
}

case_approvals_fd_session() {
	apv_prereqs || return
	apv_upstreams || { fail "upstream servers started"; return; }
	apv_start sess "{\"localhost:$UP:http\": \"allow_session\",
		\"localhost:$UP:socks5_tcp\": \"deny_session\"}" || return
	local u=http://localhost:$UP/hello.txt st1 st2
	st1=$(apv_get "$u")
	st2=$(apv_get "$u")
	expect_success "allow_session: allowed twice" [ "$st1$st2" = 200200 ]
	curl -sS --max-time 10 --socks5-hostname "127.0.0.1:$SP" "$u" >"$CASE_DIR/s1" 2>&1
	curl -sS --max-time 10 --socks5-hostname "127.0.0.1:$SP" "$u" >"$CASE_DIR/s2" 2>&1
	expect_success "deny_session: SOCKS5 refused twice (reply 0x02)" \
		bash -c "grep -q '(2)' $CASE_DIR/s1 && grep -q '(2)' $CASE_DIR/s2"
	apv_py "session answers: asked once per key, later requests decided_by session" sess "
assert [(m['protocol']) for m in req] == ['http', 'socks5_tcp'], req
by = [(e['protocol'], e['decision'], e['decided_by']) for e in dec]
assert by == [('http', 'allow', 'human'), ('http', 'allow', 'session'),
              ('socks5_tcp', 'deny', 'human'), ('socks5_tcp', 'deny', 'session')], by
assert 'allow_session' in dec[1]['reason'] and 'deny_session' in dec[3]['reason'], dec"
}

case_approvals_fd_timeout_withdraw_eof() {
	apv_prereqs || return
	apv_upstreams || { fail "upstream servers started"; return; }
	apv_start tmo "{\"localhost:$UP2:http\": \"close\"}" --approval-timeout 1 || return
	local u=http://localhost:$UP/hello.txt st t0 t1
	t0=$(date +%s%N)
	st=$(apv_get "$u")
	t1=$(date +%s%N)
	expect_success "no answer within the timeout: refused (403)" [ "$st" = 403 ]
	expect_success "... after about the timeout (1 s)" \
		bash -c "[ $(((t1 - t0) / 1000000)) -ge 900 ] && [ $(((t1 - t0) / 1000000)) -lt 5000 ]"
	# A client that gives up withdraws its question (timeout 1 s > 0.3 s).
	curl -s --max-time 0.3 -x "http://127.0.0.1:$HP" "http://localhost:$UP/other" >/dev/null 2>&1
	wait_for_file "$CASE_DIR/tmo.log" no_waiters 30
	apv_py "timeout: decided_by timeout, approval_cancelled timeout; a client gone: no_waiters" tmo "
assert dec[0]['decision'] == 'deny' and dec[0]['decided_by'] == 'timeout', dec
assert dec[0]['reason'].startswith('not_allowed: no answer within 1 s'), dec
canc = [(m['id'], m['reason']) for m in log if m['type'] == 'approval_cancelled']
assert canc == [(req[0]['id'], 'timeout'), (req[1]['id'], 'no_waiters')], log
assert len(dec) == 1, dec"
	st=$(apv_get "http://localhost:$UP2/hello.txt")
	expect_success "EOF on the channel: the pending question is denied" [ "$st" = 403 ]
	st=$(apv_get "http://localhost:$UP2/again")
	expect_success "... and so are later ones, without a question" [ "$st" = 403 ]
	apv_py "EOF: decided_by no_channel, one request only" tmo "
assert len(req) == 3, req
assert [e['decided_by'] for e in dec[1:]] == ['no_channel', 'no_channel'], dec
assert all(e['decision'] == 'deny' for e in dec), dec"
	expect_success "EOF: stderr says the channel closed" grep -q 'approvals fd closed' "$CASE_DIR/tmo.err"
	expect_success "the proxy still serves rule-allowed requests" \
		bash -c "[ \"\$(curl -s --max-time 5 -x http://127.0.0.1:$HP http://127.0.0.1:$UP/hello.txt)\" = hello-approvals ]"
}

case_approvals_fd_malformed_replies() {
	apv_prereqs || return
	apv_upstreams || { fail "upstream servers started"; return; }
	apv_start bad "{\"localhost:$UP:http\": \"malformed,allow_once\"}" || return
	local st
	st=$(apv_get "http://localhost:$UP/hello.txt")
	expect_success "malformed lines, an unknown id, an overlong line are ignored; the answer after them counts" \
		[ "$st" = 200 ]
	expect_success "stderr: a warning for each" bash -c "
grep -q 'malformed reply.*\"id\" must be' $CASE_DIR/bad.err &&
grep -q 'malformed reply.*not valid JSON' $CASE_DIR/bad.err &&
grep -q 'malformed reply.*\"decision\" must be one of' $CASE_DIR/bad.err &&
grep -q 'question 999999, which is not open' $CASE_DIR/bad.err &&
grep -q 'longer than 65536 bytes' $CASE_DIR/bad.err"
}

case_approvals_fd_always_saved() {
	apv_prereqs || return
	apv_upstreams || { fail "upstream servers started"; return; }
	local pol=$CASE_DIR/policy.json
	cat >"$pol" <<'EOF'
{
  "version": 1,
  "preset": "workspace-write",
  "filesystem": {"/srv/data": "read"},
  "network": {"allow": ["example.org:443"], "deny": ["gist.github.com"]}
}
EOF
	apv_start always "{\"localhost:$UP:http\": \"allow_always\",
		\"localhost:$UP2:http\": \"deny_always\"}" --approvals-save "$pol" || return
	local st1 st2 st3
	st1=$(apv_get "http://localhost:$UP/hello.txt")
	st2=$(apv_get "http://localhost:$UP/hello.txt" -p)
	st3=$(apv_get "http://localhost:$UP2/hello.txt")
	expect_success "allow_always: allowed, and for another protocol too; deny_always: refused" \
		[ "$st1 $st2 $st3" = "200 200 403" ]
	expect_success "the file: still valid JSON, other keys kept, patterns added once, mode set" \
		/usr/bin/python3 -c "
import json; p = json.load(open('$pol'))
assert p['version'] == 1 and p['preset'] == 'workspace-write', p
assert p['filesystem'] == {'/srv/data': 'read'}, p
n = p['network']
assert n['mode'] == 'proxy', n
assert n['allow'] == ['example.org:443', 'localhost:$UP'], n
assert n['deny'] == ['gist.github.com', 'localhost:$UP2'], n"
	apv_py "asked twice only; approval_saved sent; decided_by human then session" always "
assert [m['port'] for m in req] == [$UP, $UP2], req
saved = [m for m in log if m['type'] == 'approval_saved']
assert [m['pattern'] for m in saved] == ['localhost:$UP', 'localhost:$UP2'], saved
assert [e['decided_by'] for e in dec] == ['human', 'session', 'human'], dec
assert 'saved as' in dec[0]['reason'] or dec[0]['reason'].endswith('allow_always'), dec"
	# The same answer again (a new proxy) must not duplicate the pattern.
	kill "${BG_PIDS[-1]}" 2>/dev/null
	apv_start again "{\"localhost:$UP2:https_connect\": \"deny_always\"}" \
		--approvals-save "$pol" || return
	apv_get "http://localhost:$UP2/" -p >/dev/null
	expect_success "no duplicate after the same answer again" \
		/usr/bin/python3 -c "
import json; n = json.load(open('$pol'))['network']
assert n['deny'] == ['gist.github.com', 'localhost:$UP2'], n"
	expect_success "agentbox proxy --policy-file reads the saved file: the saved allow is a rule now" \
		bash -c "'$AGENTBOX' proxy --listen 127.0.0.1:0 --policy-file '$pol' >'$CASE_DIR/pf.ready' 2>&1 &
pid=\$!; trap 'kill \$pid' EXIT
for i in \$(seq 50); do grep -q http_port '$CASE_DIR/pf.ready' && break; sleep 0.1; done
hp=\$(sed -E 's/.*\"http_port\":([0-9]+).*/\\1/' '$CASE_DIR/pf.ready')
[ \"\$(curl -s --max-time 5 -x http://127.0.0.1:\$hp http://localhost:$UP/hello.txt)\" = hello-approvals ]"

	apv_start nosave "{\"localhost:$UP:http\": \"allow_always\"}" || return
	st1=$(apv_get "http://localhost:$UP/hello.txt")
	expect_success "allow_always without a save file: allowed for the session" [ "$st1" = 200 ]
	apv_py "... with an approval_warning on the channel" nosave "
w = [m for m in log if m['type'] == 'approval_warning']
assert len(w) == 1 and 'not saved' in w[0]['warning'], log"
	expect_success "... and a warning on stderr" grep -q 'warning:.*was not saved' "$CASE_DIR/nosave.err"

	echo '{"network": {"mode": "none"}}' >"$CASE_DIR/none.json"
	apv_start badsave "{\"localhost:$UP:http\": \"allow_always\"}" \
		--approvals-save "$CASE_DIR/none.json" || return
	st1=$(apv_get "http://localhost:$UP/hello.txt")
	expect_success "a save that fails keeps the decision (allowed)" [ "$st1" = 200 ]
	expect_success "... reports why, and leaves the file alone" bash -c "
grep -q 'cannot save the answer into .*none.json.*mode' $CASE_DIR/badsave.err &&
[ \"\$(cat $CASE_DIR/none.json)\" = '{\"network\": {\"mode\": \"none\"}}' ]"
}

case_approvals_refusals_without_question() {
	apv_prereqs || return
	apv_upstreams || { fail "upstream servers started"; return; }
	apv_start np "{}" || return
	local st
	st=$(apv_get "http://127.0.0.2:$UP/hello.txt")
	expect_success "a non-public IP literal no rule names: refused (403) without asking" [ "$st" = 403 ]
	apv_py "... decided_by non_public, no request sent" np "
assert req == [], req
assert dec[0]['decided_by'] == 'non_public' and dec[0]['host'] == '127.0.0.2', dec"

	"$AGENTBOX" proxy --listen 127.0.0.1:0 --events-fd 3 3>"$CASE_DIR/none.ev" \
		>"$CASE_DIR/none.ready" 2>&1 &
	bg_track $!
	wait_for_file "$CASE_DIR/none.ready" http_port 50
	HP=$(sed -E 's/.*"http_port":([0-9]+).*/\1/' "$CASE_DIR/none.ready")
	apv_get "http://example.invalid/" >/dev/null
	expect_success "no approval channel: decided_by no_channel" \
		grep -q '"decided_by":"no_channel","rule":null,"reason":"not_allowed: no rule matches' \
		"$CASE_DIR/none.ev"

	abx setsid -w "$AGENTBOX" proxy --listen 127.0.0.1:0 --approvals-tty
	expect_success "--approvals-tty without a terminal: a clear error" bash -c \
		"[ $RC = 1 ] && grep -q 'cannot open the controlling terminal /dev/tty' '$CASE_DIR/.err'"
	abx "$AGENTBOX" proxy --listen 127.0.0.1:0 --approvals-fd 77
	expect_success "--approvals-fd not open: a clear error" bash -c \
		"[ $RC = 1 ] && grep -q -- '--approvals-fd 77 is not an open file descriptor' '$CASE_DIR/.err'"
}

case_approvals_tty_prompt() {
	apv_prereqs || return
	apv_upstreams || { fail "upstream servers started"; return; }
	/usr/bin/python3 - "$AGENTBOX" "$UP" "$CASE_DIR" >"$CASE_DIR/tty.out" 2>&1 <<'PY'
import os, pty, select, subprocess, sys, time
agentbox, up, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    ev = os.open(d + "/tty.ev", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    if ev != 3:
        os.dup2(ev, 3)
    os.set_inheritable(3, True)
    os.execv(agentbox, [agentbox, "proxy", "--listen", "127.0.0.1:0", "--allow-domain",
                        "127.0.0.1", "--allow-domain", "[::1]", "--events-fd", "3",
                        "--approvals-tty", "--approval-timeout", "20"])
seen = b""
def until(text, limit=10):
    global seen
    end = time.time() + limit
    while text.encode() not in seen:
        r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
        if not r:
            sys.exit("timed out waiting for %r; terminal so far: %r" % (text, seen))
        try:
            seen += os.read(fd, 4096)
        except OSError as e:
            sys.exit("terminal closed (%s) waiting for %r; terminal so far: %r" % (e, text, seen))
until("http_port")
port = int(seen.split(b'"http_port":')[1].split(b",")[0])
def curl(path):
    return subprocess.Popen(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                             "--max-time", "20", "-x", "http://127.0.0.1:%d" % port,
                             "http://localhost:%d/%s" % (up, path)], stdout=subprocess.PIPE)
c = curl("hello.txt")
until("allow a connection to localhost:%d (http)?" % up)
until(") > ")
os.write(fd, b"zzz\n")
until("please type y, s, a, n, d or b")
os.write(fd, b"s\n")
out = c.communicate()[0].decode()
assert out == "200", ("first request", out, seen)
mark = len(seen)
c = curl("again")
out = c.communicate()[0].decode()
assert out == "404", ("second request (session, not asked)", out)
time.sleep(0.3)
r, _, _ = select.select([fd], [], [], 0)
if r:
    seen += os.read(fd, 4096)
assert b"allow a connection" not in seen[mark:], seen[mark:]
os.kill(pid, 15)
os.waitpid(pid, 0)
print("tty ok")
PY
	expect_success "the prompt appears on the terminal; an answer typed there allows; no second question" \
		bash -c "grep -q 'tty ok' '$CASE_DIR/tty.out' || { cat '$CASE_DIR/tty.out'; false; }"
	expect_success "events: decided_by human on the terminal, then session" /usr/bin/python3 -c "
import json
dec = [json.loads(l) for l in open('$CASE_DIR/tty.ev')]
dec = [e for e in dec if e['phase'] == 'decision']
assert [e['decided_by'] for e in dec] == ['human', 'session'], dec
assert dec[0]['reason'] == 'approved on the terminal: allow_session', dec"
}
