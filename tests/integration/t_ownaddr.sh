# The proxy treats the host's own addresses like loopback (#12): a service
# bound to 0.0.0.0 or :: on the host answers on every address of the host,
# including a public IPv4 or a global IPv6 one that no range check calls
# local. Each case builds a network namespace of its own (the "host" of the
# proxy: the proxy runs outside any sandbox), gives a veth interface a
# public-looking IPv4 and a global IPv6 address, serves HTTP on 0.0.0.0/::
# and asks `agentbox proxy --allow-domain '*'` for it every way a client
# can: by IP literal, by a name /etc/hosts resolves to it, through CONNECT,
# HTTP and SOCKS5, and for an address added after the proxy started. The
# server logs every request's path, so "not reached" is checked where it
# matters: no refused request ever arrived.

# The script run inside the namespace: $1 the case dir, $2 agentbox.
# Writes $D/results (one "name http-code" line per request), $D/hits (the
# paths the server saw) and the proxy's events to $D/own.ev.
own_ns_script() {
	cat <<'SH'
set -u
D=$1 AB=$2
ip link set lo up
ip link add ab0 type veth peer name ab1 || exit 90
ip link set ab0 up && ip link set ab1 up
ip addr add 198.51.99.7/24 dev ab0
ip -6 addr add 2a01:db8:ffff::7/64 dev ab0 nodad
{ echo "198.51.99.7 ownhost.test"; echo "2a01:db8:ffff::7 ownhost6.test"; cat /etc/hosts; } >"$D/hosts"
mount --bind "$D/hosts" /etc/hosts || exit 91
/usr/bin/python3 -c '
import http.server, socket, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(sys.argv[1], "a") as f:
            f.write(self.path + "\n")
        body = b"own-host-service\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
s = S(("::", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
' "$D/hits" >"$D/port" 2>"$D/server.err" &
SRV=$!
"$AB" proxy --listen 127.0.0.1:0 --socks-listen 127.0.0.1:0 --allow-domain '*' --events-fd 3 \
	3>"$D/own.ev" >"$D/own.ready" 2>"$D/own.err" &
PX=$!
"$AB" proxy --listen 127.0.0.1:0 --socks-listen 127.0.0.1:0 --allow-domain 198.51.99.7 \
	>"$D/exact.ready" 2>"$D/exact.err" &
PX2=$!
for _ in $(seq 100); do
	grep -q '[0-9]' "$D/port" 2>/dev/null && grep -q socks_port "$D/own.ready" 2>/dev/null &&
		grep -q socks_port "$D/exact.ready" 2>/dev/null && break
	sleep 0.1
done
P=$(cat "$D/port")
HP=$(sed -E 's/.*"http_port":([0-9]+).*/\1/' "$D/own.ready")
SP=$(sed -E 's/.*"socks_port":([0-9]+).*/\1/' "$D/own.ready")
XP=$(sed -E 's/.*"http_port":([0-9]+).*/\1/' "$D/exact.ready")
r() { # NAME CURL-ARGS...: one request, its HTTP (or CONNECT) code
	local name=$1 code
	shift
	code=$(curl -s -o /dev/null -m 10 -w '%{http_code}/%{http_connect}' "$@")
	echo "$name $code" >>"$D/results"
}
r direct "http://198.51.99.7:$P/direct"
r direct6 "http://[2a01:db8:ffff::7]:$P/direct6"
r http-literal -x "http://127.0.0.1:$HP" "http://198.51.99.7:$P/http-literal"
r http-name -x "http://127.0.0.1:$HP" "http://ownhost.test:$P/http-name"
r http-v6 -x "http://127.0.0.1:$HP" "http://[2a01:db8:ffff::7]:$P/http-v6"
r http-name6 -x "http://127.0.0.1:$HP" "http://ownhost6.test:$P/http-name6"
r connect-literal -p -x "http://127.0.0.1:$HP" "http://198.51.99.7:$P/connect-literal"
r connect-name -p -x "http://127.0.0.1:$HP" "http://ownhost.test:$P/connect-name"
r socks-literal --socks5 "127.0.0.1:$SP" "http://198.51.99.7:$P/socks-literal"
r socks-name --socks5-hostname "127.0.0.1:$SP" "http://ownhost.test:$P/socks-name"
r socks-v6 --socks5 "127.0.0.1:$SP" "http://[2a01:db8:ffff::7]:$P/socks-v6"
r http-mapped -x "http://127.0.0.1:$HP" "http://[::ffff:198.51.99.7]:$P/http-mapped"
# an address the host gets after the proxy started
ip addr add 198.51.99.8/24 dev ab0
r late-direct "http://198.51.99.8:$P/late-direct"
r late-literal -x "http://127.0.0.1:$HP" "http://198.51.99.8:$P/late-literal"
r late-socks --socks5 "127.0.0.1:$SP" "http://198.51.99.8:$P/late-socks"
# an allow rule naming the address exactly opens it, as for loopback
r exact -x "http://127.0.0.1:$XP" "http://198.51.99.7:$P/exact"
kill $PX $PX2 $SRV
wait 2>/dev/null
exit 0
SH
}

case_proxy_own_addresses_are_local() {
	standalone_proxy_prereqs "own-address cases" || return 0
	if ! command -v ip >/dev/null || ! command -v unshare >/dev/null; then
		skip "own-address cases" "needs ip (iproute2) and unshare"
		return
	fi
	own_ns_script >"$CASE_DIR/ns.sh"
	local ns=(unshare --net --mount)
	[ "$(id -u)" = 0 ] || ns=(unshare --user --map-root-user --net --mount)
	abx "${ns[@]}" /bin/bash "$CASE_DIR/ns.sh" "$CASE_DIR" "$AGENTBOX"
	if [ "$RC" = 90 ] || { [ "$RC" != 0 ] && grep -q "unshare" <<<"$ERR"; }; then
		skip "own-address cases" "cannot build the test network namespace: $ERR"
		return
	fi
	expect_exit "the namespace script ran" 0
	local res
	res=$(cat "$CASE_DIR/results" 2>/dev/null)
	code_of() { sed -n "s|^$1 ||p" <<<"$res"; }
	expect "control: the service answers on 198.51.99.7 directly ($(code_of direct))" \
		'[ "$(code_of direct)" = 200/000 ]'
	expect "control: and on 2a01:db8:ffff::7 ($(code_of direct6))" '[ "$(code_of direct6)" = 200/000 ]'
	expect "control: and on the late address ($(code_of late-direct))" '[ "$(code_of late-direct)" = 200/000 ]'
	local n
	for n in http-literal http-name http-v6 http-name6 http-mapped late-literal; do
		expect "$n: refused with 403 ($(code_of $n))" '[ "$(code_of $n)" = 403/000 ]'
	done
	for n in connect-literal connect-name; do
		expect "$n: CONNECT refused with 403 ($(code_of $n))" '[ "$(code_of $n)" = 000/403 ]'
	done
	for n in socks-literal socks-name socks-v6 late-socks; do
		expect "$n: refused ($(code_of $n))" '[ "$(code_of $n)" = 000/000 ]'
	done
	expect "an allow rule naming the address exactly opens it ($(code_of exact))" \
		'[ "$(code_of exact)" = 200/000 ]'
	expect "the service saw only the direct requests and the exactly allowed one" \
		'[ "$(sort "$CASE_DIR/hits" | tr "\n" " ")" = "/direct /direct6 /exact /late-direct " ]'
	# Every refusal (12 requests) is a network event with the local-address
	# reason.
	cat >"$CASE_DIR/ev.py" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
den = [e for e in ev if e.get("event") == "network" and e.get("decision") == "deny"]
assert len(den) == 12, den
for e in den:
    assert e["reason"].startswith("not_allowed_local: "), e
    assert "an address of this host's own interfaces" in e["reason"], e
assert any("ownhost.test resolves to 198.51.99.7" in e["reason"] for e in den), den
assert any("198.51.99.8 is an address" in e["reason"] for e in den), den
PY
	expect "the events name the host's own address as the reason" \
		'/usr/bin/python3 "$CASE_DIR/ev.py" "$CASE_DIR/own.ev"'
}
