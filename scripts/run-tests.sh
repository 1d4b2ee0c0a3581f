#!/usr/bin/env bash
# Usage: scripts/run-tests.sh BUILD_DIR
#
# Runs the unit suite, then the integration suite, of an already configured
# meson build directory, and ends with one line:
#   tests: N passed, N failed
# Counts come from meson's JSON logs (BUILD_DIR/meson-logs/testlog-unit.json
# and testlog-integration.json): each cmocka case counts once (from cmocka's
# "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)" summary lines), the
# integration script counts its own "N passed, N failed[, N skipped]". A
# test binary that crashes, leaks (ASan) or times out counts as one more
# failure even when its cases passed. Exits non-zero if anything failed.
set -uo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$1
if [ ! -f "$build/build.ninja" ]; then
	echo "run-tests: $build is not a configured meson build directory; run 'make' (or 'meson setup $build') first" >&2
	exit 2
fi
logs="$build/meson-logs"

# The settings matter only for sanitizer builds and are harmless otherwise.
# Any ASAN_OPTIONS the caller set come first; ours override them.
user_asan=${ASAN_OPTIONS:+$ASAN_OPTIONS:}
# UBSan only prints by default; make undefined behaviour fail the test.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

rm -f "$logs/testlog-unit.json" "$logs/testlog-integration.json"

echo "== unit tests ($build)"
ASAN_OPTIONS="${user_asan}detect_leaks=1" \
	meson test -C "$build" --suite unit --print-errorlogs --logbase testlog-unit
unit_rc=$?

# LeakSanitizer stops the world with ptrace, which the sandbox's seccomp
# filter denies to the inner stage, so leak checking is off here.
echo "== integration tests ($build)"
ASAN_OPTIONS="${user_asan}detect_leaks=0" \
	meson test -C "$build" --suite integration --verbose --print-errorlogs \
		--logbase testlog-integration
int_rc=$?

python3 - "$logs/testlog-unit.json" "$unit_rc" "$logs/testlog-integration.json" "$int_rc" <<'EOF'
import json
import re
import sys

FAILING = {"FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS", "INTERRUPT"}

def cmocka_counts(out):
    """(passed, failed, skipped) from cmocka's summary lines, or None."""
    total = re.findall(r"^\[=+\] (\d+) test\(s\) run\.", out, re.M)
    if not total:
        return None
    p = sum(map(int, re.findall(r"^\[  PASSED  \] (\d+) test\(s\)\.", out, re.M)))
    f = sum(map(int, re.findall(r"^\[  FAILED  \] (\d+) test\(s\), listed below:", out, re.M)))
    s = sum(map(int, re.findall(r"^\[  SKIPPED \] (\d+) test\(s\), listed below:", out, re.M)))
    return p, f, s

def cmocka_partial(out):
    """Cases that finished before the binary died (no summary printed)."""
    ok = len(re.findall(r"^\[       OK \] ", out, re.M))
    return ok, 0, 0

def script_counts(out):
    m = re.findall(r"(\d+) passed, (\d+) failed(?:, (\d+) skipped)?", out)
    if not m:
        return None
    p, f, s = m[-1]
    return int(p), int(f), int(s or 0)

def count(path, meson_rc, parse):
    passed = failed = skipped = 0
    notes = []
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError as e:
        return 0, 1, 0, [f"no test log ({e.strerror}: {path}); meson test exited {meson_rc}"]
    for line in lines:
        if not line.strip():
            continue
        r = json.loads(line)
        name, res = r.get("name", "?"), r.get("result", "?")
        out = (r.get("stdout") or "") + "\n" + (r.get("stderr") or "")
        c = parse(out)
        if c is None and parse is cmocka_counts:
            c = cmocka_partial(out) if "[ RUN      ]" in out else None
        if c is None:
            # Not a test that reports cases: count the binary itself.
            c = (1 if res in ("OK", "EXPECTEDFAIL") else 0,
                 1 if res in FAILING else 0,
                 1 if res == "SKIP" else 0)
        elif res in FAILING and c[1] == 0:
            # Cases passed but the binary did not (crash, leak, timeout).
            c = (c[0], 1, c[2])
            rc = r.get("returncode")
            how = f"killed by signal {-rc}" if isinstance(rc, int) and rc < 0 else f"exit status {rc}"
            notes.append(f"{name}: {res} ({how}) after {c[0]} passing case(s); see {path[:-5]}.txt")
        elif c[1]:
            notes.append(f"{name}: {c[1]} failed; see {path[:-5]}.txt")
        passed += c[0]
        failed += c[1]
        skipped += c[2]
    if not lines and meson_rc != 0:
        failed += 1
        notes.append(f"meson test exited {meson_rc} without running any test")
    return passed, failed, skipped, notes

unit_log, unit_rc, int_log, int_rc = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
totals = [0, 0]
for label, path, rc, parse in (("unit", unit_log, unit_rc, cmocka_counts),
                               ("integration", int_log, int_rc, script_counts)):
    p, f, s, notes = count(path, rc, parse)
    extra = f", {s} skipped" if s else ""
    print(f"{label}: {p} passed, {f} failed{extra}")
    for n in notes:
        print(f"  {n}")
    totals[0] += p
    totals[1] += f
print(f"tests: {totals[0]} passed, {totals[1]} failed")
sys.exit(1 if totals[1] else 0)
EOF
count_rc=$?

if [ $count_rc -ne 0 ] || [ $unit_rc -ne 0 ] || [ $int_rc -ne 0 ]; then
	exit 1
fi
exit 0
