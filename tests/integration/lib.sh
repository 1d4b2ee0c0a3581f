#!/bin/bash
# Helpers shared by the integration cases (t_*.sh).
#
# A case is a shell function named case_* in a t_*.sh file.  run.sh runs each
# case in its own bash process through this file:
#
#   bash lib.sh --case FILE FUNCTION
#
# with these variables exported by run.sh:
#   AGENTBOX, PROBE   absolute paths of the binaries under test (under
#                     /var/tmp, out of workspace-write's reach: see run.sh)
#   PASS              "root" or "user" (the identity this pass runs as)
#   PASS_DIR          a directory under /tmp owned by the pass user
#   OUTSIDE_BASE      a directory under /var/tmp owned by the pass user: a
#                     place the user can write on the host but that no preset
#                     except full-access makes writable inside the sandbox
#   RESULTS           file collecting one line per result (numbering)
#   TAP_START         number of results printed by earlier passes
#
# Results are TAP-ish: "ok N - [pass] name", "not ok N - [pass] name" with
# details indented below, "ok N - [pass] name # SKIP reason".

set -u

# ---------------------------------------------------------------- results

_tap_next() {
	local n
	n=$(wc -l <"$RESULTS")
	echo $((TAP_START + n + 1))
}

ok() {
	local n
	n=$(_tap_next)
	echo "pass" >>"$RESULTS"
	echo "ok $n - [$PASS] $CASE_NAME: $1"
	return 0
}

# fail NAME [DETAILS...]: details and the last agentbox run go below the line.
fail() {
	local name=$1 n
	shift
	n=$(_tap_next)
	echo "fail" >>"$RESULTS"
	echo "not ok $n - [$PASS] $CASE_NAME: $name"
	{
		local d
		for d in "$@"; do
			printf '%s\n' "$d"
		done
		_last_run_details
	} | sed 's/^/    /'
	return 1
}

skip() {
	local n
	n=$(_tap_next)
	echo "skip" >>"$RESULTS"
	echo "ok $n - [$PASS] $CASE_NAME: $1 # SKIP $2"
	return 0
}

# landlock_case WHAT: true when a case that picks --backend landlock itself
# should run here: once per user, in the builtin pass (not the legacy-mount
# one), on a kernel with a usable Landlock; otherwise it says why (as a
# skip of WHAT) and is false. Use: landlock_case "what" || return 0
landlock_case() {
	if [ "$BACKEND" != builtin ] || [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" = 1 ]; then
		skip "$1" "run only in the builtin variant (the case picks --backend landlock itself)"
		return 1
	fi
	local why
	why=$("$AGENTBOX" explain --backend landlock 2>&1; echo "rc=$?")
	if [ "${why##*rc=}" != 0 ] || grep -q "landlock unavailable" <<<"$why"; then
		skip "$1" "this kernel has no usable Landlock: $(grep -m1 unavailable <<<"$why")"
		return 1
	fi
	return 0
}

_last_run_details() {
	[ -n "${LAST_CMD:-}" ] || return 0
	echo "last command: $LAST_CMD"
	echo "exit status: ${RC:-?}"
	if [ -s "$CASE_DIR/.out" ]; then
		echo "stdout:"
		head -n 40 "$CASE_DIR/.out" | sed 's/^/  | /'
	fi
	if [ -s "$CASE_DIR/.err" ]; then
		echo "stderr:"
		head -n 40 "$CASE_DIR/.err" | sed 's/^/  | /'
	fi
}

# ---------------------------------------------------------------- running

# Seconds after which a single agentbox run is considered hung.  The suite
# kills it with SIGKILL (status 137) and the check that follows fails.
AB_HANG_LIMIT=${AB_HANG_LIMIT:-30}

_quote_cmd() {
	local out="" a
	for a in "$@"; do
		out+="$(printf '%q' "$a") "
	done
	printf '%s' "${out% }"
}

# ab ARGS...: run agentbox with stdin from /dev/null; sets OUT, ERR, RC.
ab() {
	LAST_CMD="agentbox $(_quote_cmd "$@")"
	timeout -s KILL "$AB_HANG_LIMIT" "$AGENTBOX" "$@" \
		<"${AB_STDIN:-/dev/null}" >"$CASE_DIR/.out" 2>"$CASE_DIR/.err"
	RC=$?
	OUT=$(cat "$CASE_DIR/.out")
	ERR=$(cat "$CASE_DIR/.err")
	return 0
}

# abx CMD...: like ab, for an arbitrary command line (a wrapper around
# agentbox, or agentbox with redirections set up by the caller's shell).
abx() {
	LAST_CMD=$(_quote_cmd "$@")
	timeout -s KILL "$AB_HANG_LIMIT" "$@" \
		<"${AB_STDIN:-/dev/null}" >"$CASE_DIR/.out" 2>"$CASE_DIR/.err"
	RC=$?
	OUT=$(cat "$CASE_DIR/.out")
	ERR=$(cat "$CASE_DIR/.err")
	return 0
}

# stderr_but_backend_note: $ERR without the line that announces a backend
# chosen by AGENTBOX_BACKEND (run.sh exports it for every case), so that a
# case can check that nothing else was said.
stderr_but_backend_note() {
	grep -v '^agentbox: backend [a-z]* chosen by the environment variable AGENTBOX_BACKEND' <<<"$ERR" || true
}

# sbx ARGS... -- SHELL-SCRIPT: run a shell script in the sandbox.
sbx() {
	local args=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		args+=("$1")
		shift
	done
	shift
	ab run "${args[@]}" -- /bin/sh -c "$1"
}

# ---------------------------------------------------------------- asserts
# Each assert prints one result line and returns 0 on success, 1 on failure.

# expect_exit NAME CODE [-- AGENTBOX-ARGS...]
expect_exit() {
	local name=$1 code=$2
	shift 2
	if [ "${1:-}" = "--" ]; then
		shift
		ab "$@"
	fi
	if [ "$RC" = "$code" ]; then
		ok "$name"
	else
		fail "$name" "expected exit status $code, got $RC"
	fi
}

expect_nonzero() {
	if [ "$RC" != 0 ]; then
		ok "$1"
	else
		fail "$1" "expected a non-zero exit status"
	fi
}

expect_stdout_eq() {
	if [ "$OUT" = "$2" ]; then
		ok "$1"
	else
		fail "$1" "expected stdout: $(printf %q "$2")" "got stdout:      $(printf %q "$OUT")"
	fi
}

expect_stdout_contains() {
	if [[ "$OUT" == *"$2"* ]]; then
		ok "$1"
	else
		fail "$1" "stdout does not contain: $2"
	fi
}

expect_stdout_lacks() {
	if [[ "$OUT" != *"$2"* ]]; then
		ok "$1"
	else
		fail "$1" "stdout unexpectedly contains: $2"
	fi
}

expect_stderr_contains() {
	if [[ "$ERR" == *"$2"* ]]; then
		ok "$1"
	else
		fail "$1" "stderr does not contain: $2"
	fi
}

# expect_stderr_matches NAME ERE
expect_stderr_matches() {
	if grep -Eq -- "$2" <<<"$ERR"; then
		ok "$1"
	else
		fail "$1" "stderr does not match /$2/"
	fi
}

# expect NAME SHELL-CONDITION: evaluated with eval in the caller's context.
expect() {
	if eval "$2"; then
		ok "$1"
	else
		fail "$1" "condition failed: $2"
	fi
}

# expect_success NAME COMMAND...: ok when COMMAND succeeds; else its output
# (first 3000 bytes) is the failure's detail.
expect_success() {
	local name=$1
	shift
	if "$@" >"$CASE_DIR/check.out" 2>&1; then
		ok "$name"
	else
		fail "$name" "$(head -c 3000 "$CASE_DIR/check.out")"
	fi
}

# expect_file_content NAME FILE CONTENT
expect_file_content() {
	local got
	if [ ! -f "$2" ]; then
		fail "$1" "$2 does not exist on the host"
		return
	fi
	got=$(cat "$2")
	if [ "$got" = "$3" ]; then
		ok "$1"
	else
		fail "$1" "$2 on the host: expected $(printf %q "$3"), got $(printf %q "$got")"
	fi
}

expect_absent() {
	if [ ! -e "$2" ] && [ ! -L "$2" ]; then
		ok "$1"
	else
		fail "$1" "$2 exists on the host: $(ls -ld "$2" 2>&1)"
	fi
}

# ---------------------------------------------------------------- workspace

# new_ws: create a fresh empty workspace (canonical path) and set WS.
new_ws() {
	WS=$(mktemp -d "$CASE_DIR/ws.XXXXXX")
	WS=$(realpath "$WS")
	chmod 0755 "$WS"
}

# new_outside: a fresh directory the user can write on the host, outside
# every preset's writable roots; sets OUTSIDE.
new_outside() {
	OUTSIDE=$(mktemp -d "$CASE_OUT/o.XXXXXX")
	OUTSIDE=$(realpath "$OUTSIDE")
}

# snapshot DIR: a listing of every path, type and size under DIR.
snapshot() {
	(cd "$1" && find . -printf '%p %y %s %m\n' | LC_ALL=C sort)
}

bg_track() {
	BG_PIDS+=("$1")
}

# wait_for_file FILE PATTERN TENTHS: poll until FILE contains PATTERN.
wait_for_file() {
	local i
	for ((i = 0; i < $3; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# start_http_server DIR: serves DIR on 127.0.0.1 (a thread per request),
# tracked for cleanup; sets HTTP_PORT. Fails if it does not come up.
start_http_server() {
	local portfile
	portfile=$(mktemp "$CASE_DIR/http.XXXXXX")
	(cd "$1" && exec /usr/bin/python3 -c '
import http.server
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
' >"$portfile" 2>/dev/null) &
	bg_track $!
	wait_for_file "$portfile" '[0-9]' 50 || return 1
	HTTP_PORT=$(cat "$portfile")
}

# start_tcp_sink: a TCP listener on 127.0.0.1 that accepts and closes
# every connection, tracked for cleanup; sets SINK_PORT. Fails if it does
# not come up.
start_tcp_sink() {
	local portfile
	portfile=$(mktemp "$CASE_DIR/sink.XXXXXX")
	(exec /usr/bin/python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); c.close()
' >"$portfile" 2>/dev/null) &
	bg_track $!
	wait_for_file "$portfile" '[0-9]' 50 || return 1
	SINK_PORT=$(cat "$portfile")
}

# standalone_proxy_prereqs WHAT: whether `agentbox proxy` cases run in this
# pass. The proxy does not depend on the sandbox backend, so they run only
# in the builtin passes (as root and as uid 65534), not three times over;
# they need python3 and curl (a skip says so).
standalone_proxy_prereqs() {
	if [ "${BACKEND:-}" != builtin ]; then
		return 1
	fi
	if [ ! -x /usr/bin/python3 ] || ! command -v curl >/dev/null; then
		skip "$1" "needs /usr/bin/python3 and curl"
		return 1
	fi
	return 0
}

# proxy_ready NAME: waits for `agentbox proxy`'s ready line in
# $CASE_DIR/NAME.ready (its stderr in NAME.err); sets HP (HTTP port) and
# SP (SOCKS5 port).
proxy_ready() {
	if ! wait_for_file "$CASE_DIR/$1.ready" socks_port 50; then
		fail "$1: proxy started" "$(cat "$CASE_DIR/$1.err")"
		return 1
	fi
	HP=$(sed -E 's/.*"http_port":([0-9]+).*/\1/' "$CASE_DIR/$1.ready")
	SP=$(sed -E 's/.*"socks_port":([0-9]+).*/\1/' "$CASE_DIR/$1.ready")
}

# deny_tool: the deny_userns helper (deny_userns.c) built next to the
# probe, if it is there.
deny_tool() {
	local d
	d=$(dirname "$PROBE")/deny_userns
	[ -x "$d" ] && echo "$d"
}

# probe_expect NAME WANT: compares the probe's answer for NAME in $OUT (the
# sandbox's) with WANT, naming the check after $PROBE_CTX; $BASELINE holds
# the same probe's answers outside the sandbox. A call WANTed to work
# ("ok") that fails outside the sandbox too is a feature this kernel lacks
# (no IPv6, say): the check says "not available" instead of failing. A
# WANTed errno is the filter's answer, given before the kernel looks at
# the call, so it is checked whatever the kernel has.
probe_expect() {
	local name=$1 want=$2 got base note=""
	got=$(sed -n "s/^$name //p" <<<"$OUT")
	base=$(sed -n "s/^$name //p" <<<"$BASELINE")
	if [ "$want" = ok ] && [ -n "$base" ] && [ "$base" != ok ]; then
		skip "$PROBE_CTX: $name -> ok" \
			"not available: the kernel refuses it outside the sandbox too ($base); inside: ${got:-<no line>}"
		return 0
	fi
	if [ "$want" = EPERM ] && [ "$base" = EPERM ]; then
		note=" (the kernel refuses it for this user without the filter too)"
	fi
	if [ "$got" = "$want" ]; then
		ok "$PROBE_CTX: $name -> $want$note"
	else
		fail "$PROBE_CTX: $name -> $want" "got: ${got:-<no line>}; outside the sandbox: ${base:-?}"
	fi
}

# The renameat2(2) syscall number, for an atomic RENAME_EXCHANGE from perl
# (syscall(NR, AT_FDCWD, A, AT_FDCWD, B, 2)); 0 where unknown.
renameat2_nr() {
	case $(uname -m) in
	x86_64) echo 316 ;;
	aarch64 | riscv64 | loongarch64) echo 276 ;;
	i?86) echo 353 ;;
	armv*) echo 382 ;;
	ppc64* | ppc) echo 357 ;;
	s390x) echo 347 ;;
	*) echo 0 ;;
	esac
}

git_q() {
	git -c user.name=agentbox-it -c user.email=it@agentbox.invalid \
		-c init.defaultBranch=main -c advice.detachedHead=false "$@" \
		>/dev/null 2>&1
}

_case_cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	chmod -R u+rwX "$CASE_DIR" "$CASE_OUT" 2>/dev/null
	rm -rf "$CASE_DIR" "$CASE_OUT"
}

# ---------------------------------------------------------------- entry

if [ "${1:-}" = "--case" ]; then
	TESTS_DIR=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
	CASE_FILE=$2
	CASE_NAME=${3#case_}
	BG_PIDS=()
	LAST_CMD=""
	RC=""
	OUT=""
	ERR=""
	CASE_DIR=$(mktemp -d "$PASS_DIR/c.XXXXXX")
	CASE_DIR=$(realpath "$CASE_DIR")
	CASE_OUT=$(mktemp -d "$OUTSIDE_BASE/c.XXXXXX")
	trap _case_cleanup EXIT
	cd "$CASE_DIR" || exit 1
	# shellcheck source=/dev/null
	. "$TESTS_DIR/$CASE_FILE"
	"$3"
	exit 0
fi
