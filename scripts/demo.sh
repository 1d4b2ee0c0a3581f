#!/usr/bin/env bash
# Usage: scripts/demo.sh [BUILD_DIR]
#
# A short, real demonstration of agentbox on this machine: a throw-away git
# workspace, the workspace-write policy, and a few things an agent might try.
# Every step checks what actually happened; the script exits non-zero if one
# of them did not behave as expected.
set -uo pipefail

build=${1:-build}
ab=$(cd "$build" 2>/dev/null && pwd)/agentbox
if [ ! -x "$ab" ]; then
	echo "demo: $build/agentbox not found or not executable; build it first with 'make'" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/agentbox-demo.XXXXXX") || exit 2
home_probe=
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	rm -rf "$tmp"
	[ -n "$home_probe" ] && rm -f "$home_probe"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ws=$tmp/workspace
mkdir "$ws"
git -C "$ws" init -q
echo "hello" >"$ws/README"

failures=0
pass() { printf '\342\234\223 %s\n' "$*"; }
fail() { printf '\342\234\227 %s\n' "$*"; failures=$((failures + 1)); }
section() { printf '\n== %s\n' "$*"; }
indent() { sed 's/^/    /'; }

# Runs `agentbox run --policy workspace-write -C $ws ... -- ARGS` and leaves
# its status in $st, stdout in $out and stderr in $err.
sandbox() {
	"$ab" run "${self_flag[@]}" --policy workspace-write -C "$ws" "$@" >"$tmp/out" 2>"$tmp/err"
	st=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# The reason in a shell's or tool's error line: the text after the last ": ".
reason() { printf '%s\n' "$err" | tail -n 1 | sed 's/.*: //'; }

# 125 means agentbox itself failed: that is never the expected refusal.
agentbox_failed() {
	if [ "$st" -eq 125 ]; then
		fail "$1: agentbox could not set up the sandbox (exit 125):"
		printf '%s\n' "$err" | indent
		return 0
	fi
	return 1
}

expect_allowed() {
	local what=$1
	shift
	sandbox -- "$@"
	agentbox_failed "$what" && return
	if [ "$st" -eq 0 ]; then
		pass "$what: allowed"
	else
		fail "$what: expected to be allowed, got exit status $st: $(reason)"
	fi
}

expect_refused() {
	local what=$1
	shift
	sandbox -- "$@"
	agentbox_failed "$what" && return
	if [ "$st" -ne 0 ]; then
		pass "$what: refused ($(reason))"
	else
		fail "$what: expected to be refused, but it succeeded"
	fi
}

echo "agentbox demo: $("$ab" --version 2>&1 | head -n 1)"
echo "workspace: $ws (a fresh git repository)"
echo "policy: --policy workspace-write (read everything, write the workspace and the temp dirs)"

# agentbox refuses to run from a place its sandbox could write (the command
# could replace it for later runs). build/ is normally out of reach of this
# policy, which writes only the workspace, /tmp and $TMPDIR; a checkout under
# /tmp or $TMPDIR is not, and then the demo says so and passes
# --allow-writable-self rather than fail every step.
self_flag=()
self_json=$("$ab" explain --json --policy workspace-write -C "$ws" 2>/dev/null)
if grep -q '"self":{[^}]*"verdict":"refused"' <<<"$self_json"; then
	echo "note: $ab lies where this policy lets the sandbox write; the demo runs it with"
	echo "      --allow-writable-self (an installed copy, 'make install', needs no flag)"
	self_flag=(--allow-writable-self)
fi

section "posture (the start event from --events-fd 3)"
"$ab" run "${self_flag[@]}" --policy workspace-write -C "$ws" --events-fd 3 -- true \
	3>"$tmp/events" 2>"$tmp/err"
st=$?
start=$(grep -m 1 '"event" *: *"start"' "$tmp/events")
if [ "$st" -eq 0 ] && [ -n "$start" ]; then
	if command -v python3 >/dev/null 2>&1; then
		printf '%s\n' "$start" | python3 -m json.tool | indent
	else
		printf '%s\n' "$start" | indent
	fi
	pass "start event written to fd 3"
else
	fail "no start event (exit status $st)"
	indent <"$tmp/err"
fi

section "filesystem"
expect_allowed "write inside the workspace" sh -c 'echo written > inside.txt'
if [ "$(cat "$ws/inside.txt" 2>/dev/null)" = written ]; then
	pass "the file written in the sandbox is in the workspace on the host"
else
	fail "inside.txt is not in the workspace on the host"
fi

# Appending nothing opens the file for writing without changing it, so this
# is harmless even if the sandbox were broken.
expect_refused "write to /etc/passwd" sh -c ': >> /etc/passwd'

if [ -n "${HOME:-}" ] && [ -d "$HOME" ] && [ "$HOME" != / ]; then
	case "$HOME/" in
	/tmp/* | /var/tmp/* | "${TMPDIR:-/tmp}"/* | "$ws"/*)
		echo "  (skipping the \$HOME step: $HOME is inside a writable area of this policy)"
		;;
	*)
		home_probe="$HOME/.agentbox-demo-probe.$$"
		expect_refused "create a file in \$HOME ($HOME)" sh -c 'echo x > "$1"' sh "$home_probe"
		if [ -e "$home_probe" ]; then
			fail "$home_probe exists on the host after the sandbox wrote it"
		fi
		;;
	esac
fi

before=$(cksum <"$ws/.git/config")
expect_refused "echo x >> .git/config" sh -c 'echo x >> .git/config'
if [ "$(cksum <"$ws/.git/config")" = "$before" ]; then
	pass ".git/config is unchanged on the host"
else
	fail ".git/config was modified on the host"
fi

section "agentbox itself"
# A copy inside the workspace (think ./build/agentbox or node_modules/.bin):
# the command could overwrite it, and the next run would not be sandboxed.
cp "$ab" "$ws/agentbox-copy"
"$ws/agentbox-copy" run --policy workspace-write -C "$ws" -- sh -c 'echo ran' >"$tmp/out" 2>"$tmp/err"
st=$?
if [ "$st" -eq 125 ] && grep -q "is writable inside the sandbox" "$tmp/err" && [ ! -s "$tmp/out" ]; then
	pass "a copy of agentbox inside the workspace refuses to run (exit 125):"
	head -n 1 "$tmp/err" | cut -c1-160 | indent
else
	fail "a copy of agentbox inside the workspace: expected exit 125 and a refusal, got $st:"
	indent <"$tmp/err"
fi
rm -f "$ws/agentbox-copy"

section "network (--net none is the default)"
sandbox -- sh -c 'echo "$AGENTBOX_SANDBOX $AGENTBOX_NETWORK"'
if [ "$st" -eq 0 ] && [ "$out" = "1 none" ]; then
	pass "inside: AGENTBOX_SANDBOX=1 AGENTBOX_NETWORK=none"
else
	fail "environment inside: expected '1 none', got '$out' (exit status $st)"
fi
if command -v curl >/dev/null 2>&1; then
	expect_refused "curl http://1.1.1.1" curl -sS --max-time 3 http://1.1.1.1
else
	expect_refused "connect to 1.1.1.1:80" bash -c 'exec 3<>/dev/tcp/1.1.1.1/80'
fi

section "network through the policy proxy (--net proxy)"
# A web server on the host's loopback stands in for a package registry.
mkdir "$tmp/www"
echo "hello from the allowed host" >"$tmp/www/index.html"
if command -v curl >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
	(cd "$tmp/www" && exec python3 -c '
import http.server
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()' >"$tmp/port" 2>/dev/null) &
	server_pid=$!
	for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
	port=$(cat "$tmp/port")
	# --noproxy '': curl would otherwise go straight to 127.0.0.1, which
	# inside the sandbox is the sandbox's own (empty) loopback.
	sandbox --net proxy --allow-domain "127.0.0.1:$port" --events-fd 3 -- sh -c "
		curl -sS --noproxy '' --max-time 5 http://127.0.0.1:$port/
		curl -sS --max-time 5 -o /dev/null -w '%{http_code}\n' http://example.com/" 3>"$tmp/events"
	if [ "$st" -eq 0 ] && [ "$(printf '%s\n' "$out" | head -n 1)" = "hello from the allowed host" ]; then
		pass "--allow-domain 127.0.0.1:$port: fetched through the proxy"
	else
		fail "the allowed host: expected its page, got exit $st: $out $err"
	fi
	if [ "$(printf '%s\n' "$out" | tail -n 1)" = 403 ]; then
		pass "http://example.com/ (no rule, no approval channel): 403 from the proxy"
	else
		fail "example.com: expected 403 from the proxy, got: $out"
	fi
	echo "  the decisions, as events:"
	grep '"phase":"decision"' "$tmp/events" | cut -c1-150 | indent
else
	echo "  (skipping: needs curl and python3 on the host)"
fi

section "exit status"
sandbox -- sh -c 'exit 7'
if [ "$st" -eq 7 ]; then
	pass "sh -c 'exit 7': agentbox exits 7"
else
	fail "sh -c 'exit 7': agentbox exited $st"
fi
sandbox --timeout 1 -- sleep 30
if [ "$st" -eq 124 ]; then
	pass "--timeout 1 -- sleep 30: killed, exit 124"
else
	fail "--timeout 1 -- sleep 30: expected 124, got $st"
fi
sandbox -- /nonexistent/command
if [ "$st" -eq 127 ]; then
	pass "a missing command: exit 127 ($(reason))"
else
	fail "a missing command: expected 127, got $st"
fi

section "agentbox explain --policy workspace-write -- sh -c 'echo hi'"
if (cd "$ws" && "$ab" explain "${self_flag[@]}" --policy workspace-write -- sh -c 'echo hi') >"$tmp/out" 2>"$tmp/err"; then
	indent <"$tmp/out"
	if grep -q "^backend: " "$tmp/out"; then
		pass "explain printed the plan and the backend it would use ($(grep -m1 '^backend: ' "$tmp/out" | cut -c10-60))"
	else
		fail "explain did not name a backend"
	fi
else
	fail "explain failed:"
	indent <"$tmp/err"
fi

section "the same command on each backend: built-in engine and bubblewrap"
for b in builtin bwrap; do
	if (cd "$ws" && "$ab" run -q "${self_flag[@]}" --backend "$b" --policy workspace-write -- sh -c 'touch /etc/agentbox-demo 2>/dev/null && echo wrote || echo read-only') >"$tmp/out" 2>"$tmp/err" &&
		grep -qx read-only "$tmp/out"; then
		pass "--backend $b: /etc stays read-only"
	else
		fail "--backend $b: unexpected result:"
		indent <"$tmp/out"
		indent <"$tmp/err"
	fi
done

echo
if [ "$failures" -eq 0 ]; then
	echo "demo: every step behaved as expected"
	exit 0
fi
echo "demo: $failures step(s) did not behave as expected"
exit 1
