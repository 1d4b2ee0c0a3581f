# Network: a local HTTP server on the host's loopback is reachable from the
# host (baseline), unreachable under --net none (the sandbox's loopback is
# its own), reachable under --net full.

# start_server: serves $CASE_DIR/www on 127.0.0.1; sets PORT.
start_server() {
	mkdir -p "$CASE_DIR/www"
	echo hello-net >"$CASE_DIR/www/hello.txt"
	start_http_server "$CASE_DIR/www" || return 1
	PORT=$HTTP_PORT
}

case_network_none_blocks_and_full_allows() {
	if [ ! -x /usr/bin/python3 ] || ! command -v curl >/dev/null; then
		skip "network cases" "needs /usr/bin/python3 and curl on the host"
		return
	fi
	if ! start_server; then
		skip "network cases" "could not start a loopback HTTP server"
		return
	fi
	local url=http://127.0.0.1:$PORT/hello.txt
	if [ "$(curl -s --max-time 2 "$url")" != hello-net ]; then
		skip "network cases" "baseline: curl $url fails on the host itself"
		return
	fi

	ab run -- curl -s --max-time 2 "$url"
	expect_nonzero "net none: curl to a host loopback server fails"
	expect_stdout_lacks "net none: no response body" hello-net
	if command -v nc >/dev/null; then
		ab run -- nc -z -w 1 127.0.0.1 "$PORT"
		expect_nonzero "net none: nc -z fails"
	fi
	ab run -- bash -c ": <>/dev/tcp/127.0.0.1/$PORT && echo connected"
	expect_nonzero "net none: bash /dev/tcp fails"
	expect_stdout_lacks "net none: /dev/tcp did not connect" connected
	# IP sockets exist (the sandbox's own loopback, t_sockets.sh) but
	# reach nothing of the host's
	ab run -- "$PROBE" socket_inet socket_netlink
	expect_stdout_eq "net none: socket(AF_INET) works, socket(AF_NETLINK) -> EPERM" \
		"$(printf 'socket_inet ok\nsocket_netlink EPERM')"

	ab run --net full -- curl -s --max-time 2 "$url"
	expect_exit "net full: curl to the host loopback server works" 0
	expect_stdout_eq "net full: response body" hello-net
	ab run --net full -- bash -c ": <>/dev/tcp/127.0.0.1/$PORT && echo connected"
	expect_stdout_eq "net full: bash /dev/tcp connects" connected
}
