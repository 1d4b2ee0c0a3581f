#!/usr/bin/env bash
# Usage: t_count_tests.sh ESCAPING_CHILD COUNT_TESTS_PY
#
# scripts/count-tests.py against the real output of a cmocka binary whose
# forked child returned into cmocka's runner (escaping_child.c, issue #11):
# only the test process's own summary may be counted. Run as part of the
# unit suite; prints "ok - ..." / "not ok - ..." and exits non-zero on any
# failure. It never prints the fixture's own cmocka lines, which the runner
# would count as this test's.
set -u

fixture=$1
count=$2
tmp=$(mktemp -d /tmp/ab-count-tests-XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
failures=0

check() { # check NAME CONDITION [DETAILS]
	if eval "$2"; then
		echo "ok - $1"
	else
		echo "not ok - $1"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/    /'
		failures=$((failures + 1))
	fi
}

# run_fixture MODE: runs the fixture and writes a meson-style JSON log of
# it (one line, as in testlog-unit.json) to $tmp/MODE.json.
run_fixture() {
	"$fixture" "$1" >"$tmp/$1.out" 2>"$tmp/$1.err"
	local rc=$?
	python3 - "$1" "$rc" "$tmp/$1.out" "$tmp/$1.err" >"$tmp/$1.json" <<'EOF'
import json, sys
name, rc, out, err = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
print(json.dumps({"name": "escaping_child " + name, "returncode": rc,
                  "result": "OK" if rc == 0 else "FAIL",
                  "stdout": open(out, errors="replace").read(),
                  "stderr": open(err, errors="replace").read()}))
EOF
}

summaries() { grep -c '^\[  PASSED  \] [0-9]* test(s)\.$' "$tmp/$1.err"; }

: >"$tmp/integration.json"

# Without the guard the child prints a summary of its own (1 passed, 1
# failed) before the test process's (2 passed).
run_fixture unguarded
check "unguarded fixture: the child and the test process both print a summary" \
	'[ "$(summaries unguarded)" = 2 ]' "$(cat "$tmp/unguarded.err")"
out=$(python3 "$count" "$tmp/unguarded.json" 0 "$tmp/integration.json" 0)
rc=$?
check "unguarded: only the test process's 2 passes count, plus 1 failure for the extra summary" \
	'grep -qx "unit: 2 passed, 1 failed" <<<"$out"' "$out"
check "unguarded: the note names the binary and the 2 summaries" \
	'grep -q "escaping_child unguarded: 2 cmocka summaries" <<<"$out"' "$out"
check "unguarded: count-tests exits 1" '[ $rc = 1 ]' "exit status $rc"

# With probe_child's group guard the child is ended at the group teardown,
# before cmocka prints its summary, and says why on stderr.
run_fixture guarded
check "guarded fixture: one summary" '[ "$(summaries guarded)" = 1 ]' "$(cat "$tmp/guarded.err")"
check "guarded fixture: the child said why it was ended" \
	'grep -q "returned into cmocka.s runner" "$tmp/guarded.err"' "$(cat "$tmp/guarded.err")"
out=$(python3 "$count" "$tmp/guarded.json" 0 "$tmp/integration.json" 0)
rc=$?
check "guarded: 2 passed, 0 failed" 'grep -qx "unit: 2 passed, 0 failed" <<<"$out"' "$out"
check "guarded: count-tests exits 0" '[ $rc = 0 ]' "exit status $rc"

[ "$failures" = 0 ]
