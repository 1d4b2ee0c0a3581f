# --net proxy: the variables that lead the command's tools to the proxy
# (src/supervisor/proxy_env.c). Each tool is checked for what it does with
# them: npm's config without warnings, git over HTTPS through the proxy,
# Java's properties, and loopback staying direct for curl, Python, git
# (the proxy refuses loopback, so a client that sends http://[::1]:PORT
# to it fails). bwrap and builtin, root and uid 65534; the legacy-mount
# pass has no --net proxy.

pe_prereqs() {
	if [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" = 1 ]; then
		skip "--net proxy variables" "--net proxy needs the mount API"
		return 1
	fi
	if [ ! -x /usr/bin/python3 ] || ! command -v curl >/dev/null; then
		skip "--net proxy variables" "needs /usr/bin/python3 and curl"
		return 1
	fi
	return 0
}

# abev ARGS...: agentbox with its events in $CASE_DIR/ev.
pe_abev() {
	local sub=$1
	shift
	abx "$AGENTBOX" "$sub" --events-fd 3 "$@" 3>"$CASE_DIR/ev"
}

expect_env_line() {
	if grep -qxF -- "$1" "$CASE_DIR/.out"; then
		ok "env has $1"
	else
		fail "env has $1" "$(grep -i 'proxy\|JAVA' "$CASE_DIR/.out")"
	fi
}

case_proxyenv_each_variable_inside() {
	pe_prereqs || return 0
	local h=http://127.0.0.1:3128 s=socks5h://127.0.0.1:1080 v
	local np='localhost,127.0.0.1,::1,[::1]'
	local java="-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=3128 -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=3128 -Dhttp.nonProxyHosts=localhost|127.*|[::1]"
	# the caller's spellings that tools misread or that lead around the
	# proxy are not passed in
	npm_config_http_proxy=http://10.9.9.9:1 NPM_CONFIG_HTTP_PROXY=http://10.9.9.9:1 \
		PIP_PROXY=http://10.9.9.9:1 YARN_NO_PROXY=x DOCKER_HTTP_PROXY=http://10.9.9.9:1 \
		BUNDLE_HTTP_PROXY=http://10.9.9.9:1 GRPC_PROXY=http://10.9.9.9:1 \
		ab run --net proxy -- env
	expect_exit "env runs" 0
	for v in "http_proxy=$h" "HTTP_PROXY=$h" "https_proxy=$h" "HTTPS_PROXY=$h" \
		"ws_proxy=$h" "WSS_PROXY=$h" "grpc_proxy=$h" "GRPC_PROXY=$h" \
		"ftp_proxy=$s" "FTP_PROXY=$s" "all_proxy=$s" "ALL_PROXY=$s" \
		RSYNC_PROXY=127.0.0.1:3128 "no_proxy=$np" "NO_PROXY=$np" \
		"npm_config_proxy=$h" "npm_config_https_proxy=$h" "npm_config_noproxy=$np" \
		"YARN_HTTP_PROXY=$h" "YARN_HTTPS_PROXY=$h" CLOUDSDK_PROXY_TYPE=http \
		CLOUDSDK_PROXY_ADDRESS=127.0.0.1 CLOUDSDK_PROXY_PORT=3128 \
		NODE_USE_ENV_PROXY=1 "JAVA_TOOL_OPTIONS=$java"; do
		expect_env_line "$v"
	done
	for v in npm_config_http_proxy NPM_CONFIG_HTTP_PROXY PIP_PROXY YARN_NO_PROXY \
		DOCKER_HTTP_PROXY BUNDLE_HTTP_PROXY GIT_SSH_COMMAND; do
		if grep -q "^$v=" "$CASE_DIR/.out"; then
			fail "no $v inside" "$(grep "^$v=" "$CASE_DIR/.out")"
		else
			ok "no $v inside"
		fi
	done
	# a caller's JAVA_TOOL_OPTIONS is kept, the proxy properties after it
	JAVA_TOOL_OPTIONS='-Xmx64m -Dfoo=bar' ab run --net proxy -- sh -c 'echo "$JAVA_TOOL_OPTIONS"'
	expect_stdout_eq "the caller's JAVA_TOOL_OPTIONS comes first" "-Xmx64m -Dfoo=bar $java"
	# without --net proxy nothing is set
	ab run --net none -- env
	if grep -qiE '^(https?_proxy|no_proxy|JAVA_TOOL_OPTIONS|RSYNC_PROXY)=' "$CASE_DIR/.out"; then
		fail "no proxy variable under --net none" "$(grep -i proxy "$CASE_DIR/.out")"
	else
		ok "no proxy variable under --net none"
	fi
}

case_proxyenv_npm_prints_no_config_warning() {
	pe_prereqs || return 0
	if ! command -v npm >/dev/null; then
		skip "npm under --net proxy" "npm is not installed"
		return 0
	fi
	local home
	home=$(mktemp -d "$CASE_DIR/home.XXXXXX")
	HOME=$home ab run --net proxy -- npm config get proxy
	expect_exit "npm config get proxy runs" 0
	expect_stdout_eq "npm sees the proxy" "http://127.0.0.1:3128"
	if grep -q 'Unknown env config' <<<"$ERR"; then
		fail "npm prints no Unknown env config warning" "$ERR"
	else
		ok "npm prints no Unknown env config warning"
	fi
	HOME=$home ab run --net proxy -- npm config get https-proxy
	expect_stdout_eq "npm sees the https proxy" "http://127.0.0.1:3128"
	HOME=$home ab run --net proxy -- npm config get noproxy
	expect_stdout_eq "npm sees noproxy" "localhost,127.0.0.1,::1,[::1]"
}

case_proxyenv_git_https_goes_through_the_proxy() {
	pe_prereqs || return 0
	if ! command -v git >/dev/null; then
		skip "git through the proxy" "git is not installed"
		return 0
	fi
	local home
	home=$(mktemp -d "$CASE_DIR/home.XXXXXX")
	HOME=$home pe_abev run --net proxy -- git ls-remote https://git.example.invalid/x.git
	expect_nonzero "git ls-remote of a refused host fails"
	expect_stderr_contains "git's request reached the proxy (403 on CONNECT)" "403"
	if grep -q '"host":"git.example.invalid","port":443,"protocol":"https_connect","decision":"deny"' "$CASE_DIR/ev"; then
		ok "the proxy decided git's CONNECT"
	else
		fail "the proxy decided git's CONNECT" "$(head -c 2000 "$CASE_DIR/ev")"
	fi
}

case_proxyenv_java_sees_the_proxy_properties() {
	pe_prereqs || return 0
	if ! command -v java >/dev/null; then
		skip "Java's proxy properties" "java is not installed"
		return 0
	fi
	ab run --net proxy -- java -XshowSettings:properties -version
	local e
	for e in "http.proxyHost = 127.0.0.1" "http.proxyPort = 3128" "https.proxyHost = 127.0.0.1" \
		"https.proxyPort = 3128" "http.nonProxyHosts = localhost|127.*|[::1]"; do
		if grep -qF -- "$e" <<<"$ERR"; then
			ok "java has $e"
		else
			fail "java has $e" "$(grep -i proxy <<<"$ERR")"
		fi
	done
}

# A server on 127.0.0.1 and one on ::1, inside; each client is run with the
# proxy variables as they are (no --noproxy, no ProxyHandler({})).
LOOPBACK_SERVERS='
import http.server, socket, sys, threading
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        # git asks for x.git/info/refs: a 404 from this server
        self.send_response(404 if "x.git" in self.path else 200)
        self.end_headers(); self.wfile.write(b"inside")
    def log_message(self, *a): pass
class S6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
s4 = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s6 = S6(("::1", 0), H)
for s in (s4, s6):
    threading.Thread(target=s.serve_forever, daemon=True).start()
open(sys.argv[1] + ".tmp", "w").write("%d %d\n" % (s4.server_address[1], s6.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
threading.Event().wait()
'

PY_CLIENT='
import sys, urllib.request
print("urllib", urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
try:
    import requests
except ImportError:
    sys.exit(0)
print("requests", requests.get(sys.argv[1], timeout=5).text)
'

case_proxyenv_loopback_stays_direct() {
	pe_prereqs || return 0
	new_ws
	printf '%s' "$LOOPBACK_SERVERS" >"$CASE_DIR/srv.py"
	printf '%s' "$PY_CLIENT" >"$CASE_DIR/cli.py"
	chmod 0755 "$CASE_DIR"
	chmod 0644 "$CASE_DIR/srv.py" "$CASE_DIR/cli.py"
	pe_abev run --net proxy --write "$WS" -C "$WS" -- /bin/sh -c '
/usr/bin/python3 "$1/srv.py" "$PWD/ports" & p=$!
i=0; while [ ! -e ports ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
read p4 p6 <ports
for url in "http://127.0.0.1:$p4/" "http://[::1]:$p6/" "http://localhost:$p4/"; do
	echo "$url" | sed "s/:[0-9]*\/$//"
	curl -sS --max-time 5 "$url"; echo " curl"
	/usr/bin/python3 "$1/cli.py" "$url"
	if command -v git >/dev/null; then
		HOME=$PWD git ls-remote "${url}x.git" 2>&1 | grep -c "not found" | sed "s/1/git reached the server/"
	fi
done
kill $p' sh "$CASE_DIR"
	expect_exit "servers and clients inside run" 0
	local url
	for url in http://127.0.0.1 'http://[::1]' http://localhost; do
		local block
		block=$(awk -v u="$url" '$0 == u {on=1; next} /^http:/ {on=0} on' "$CASE_DIR/.out")
		if grep -qx "inside curl" <<<"$block" && grep -qx "urllib inside" <<<"$block"; then
			ok "$url: curl and urllib reach the server directly"
		else
			fail "$url: curl and urllib reach the server directly" "$block"
		fi
		if command -v git >/dev/null; then
			if grep -qx "git reached the server" <<<"$block"; then
				ok "$url: git reaches the server directly (its 404)"
			else
				fail "$url: git reaches the server directly (its 404)" "$block"
			fi
		fi
	done
	if grep -q '"phase":"decision"' "$CASE_DIR/ev"; then
		fail "the proxy saw no request" "$(grep '"phase":"decision"' "$CASE_DIR/ev" | head -5)"
	else
		ok "the proxy saw no request"
	fi
}
