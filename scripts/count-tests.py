#!/usr/bin/env python3
"""Counts the results in meson's JSON test logs (scripts/run-tests.sh).

Usage: count-tests.py UNIT_LOG UNIT_RC INTEGRATION_LOG INTEGRATION_RC

UNIT_LOG and INTEGRATION_LOG are meson's testlog-*.json (one JSON object a
line), the RCs what `meson test` exited with. Prints one line per suite and
ends with
    tests: N passed, N failed
Exits 1 if anything failed.

Each cmocka case counts once, from the summary cmocka prints at the end of a
test binary ("[  PASSED  ] N test(s)." and the "[  FAILED  ]"/"[  SKIPPED ]
N test(s), listed below:" lines that follow it on stderr). Only the binary's
LAST summary counts: a forked child that returned into cmocka's runner
(inheriting its fault handlers, say) runs the remaining tests and prints a
summary of its own, and the test process, which waits for its children,
prints its summary after any child's. Counting every summary is what once
turned one skipped probe into "2 failed" (issue #11). A binary with more
than one summary still counts as one failure, with a note: the unit tests'
group teardown (tests/unit/probe_child.h) ends such a child before it can
print, so a second summary means a binary or a child got around it, and
its results cannot be trusted.

The integration script counts its own "N passed, N failed[, N skipped]". A
test binary that crashes, leaks (ASan) or times out counts as one more
failure even when its cases passed.
"""
import json
import re
import sys

FAILING = {"FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS", "INTERRUPT"}

SUMMARY = re.compile(r"^\[  PASSED  \] (\d+) test\(s\)\.$", re.M)


def cmocka_counts(out):
    """(passed, failed, skipped, summaries) from the last cmocka summary in
    `out`, or None when there is none."""
    starts = list(SUMMARY.finditer(out))
    if not starts:
        return None
    last = starts[-1]
    block = out[last.start():]
    p = int(last.group(1))
    f = sum(map(int, re.findall(r"^\[  FAILED  \] (\d+) test\(s\), listed below:", block, re.M)))
    s = sum(map(int, re.findall(r"^\[  SKIPPED \] (\d+) test\(s\), listed below:", block, re.M)))
    return p, f, s, len(starts)


def cmocka_partial(out):
    """Cases that finished before the binary died (no summary printed)."""
    ok = len(re.findall(r"^\[       OK \] ", out, re.M))
    return ok, 0, 0, 0


def script_counts(out):
    m = re.findall(r"(\d+) passed, (\d+) failed(?:, (\d+) skipped)?", out)
    if not m:
        return None
    p, f, s = m[-1]
    return int(p), int(f), int(s or 0), 1


def count(path, meson_rc, parse):
    passed = failed = skipped = 0
    notes = []
    txt = path[:-5] + ".txt"
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError as e:
        return 0, 1, 0, [f"no test log ({e.strerror}: {path}); meson test exited {meson_rc}"]
    for line in lines:
        if not line.strip():
            continue
        r = json.loads(line)
        name, res = r.get("name", "?"), r.get("result", "?")
        # stdout before stderr: cmocka's summary lines are on stderr.
        out = (r.get("stdout") or "") + "\n" + (r.get("stderr") or "")
        c = parse(out)
        if c is None and parse is cmocka_counts:
            c = cmocka_partial(out) if "[ RUN      ]" in out else None
        if c is None:
            # Not a test that reports cases: count the binary itself.
            c = (1 if res in ("OK", "EXPECTEDFAIL") else 0,
                 1 if res in FAILING else 0,
                 1 if res == "SKIP" else 0, 0)
        p, f, s, summaries = c
        if parse is cmocka_counts and summaries > 1:
            f += 1
            notes.append(f"{name}: {summaries} cmocka summaries in its output; counted "
                         f"only the last (the test process's), plus one failure: a "
                         f"forked child ran cmocka's runner; see {txt}")
        elif res in FAILING and f == 0:
            # Cases passed but the binary did not (crash, leak, timeout).
            f = 1
            rc = r.get("returncode")
            how = f"killed by signal {-rc}" if isinstance(rc, int) and rc < 0 else f"exit status {rc}"
            notes.append(f"{name}: {res} ({how}) after {p} passing case(s); see {txt}")
        elif f:
            notes.append(f"{name}: {f} failed; see {txt}")
        passed += p
        failed += f
        skipped += s
    if not lines and meson_rc != 0:
        failed += 1
        notes.append(f"meson test exited {meson_rc} without running any test")
    return passed, failed, skipped, notes


def main(argv):
    if len(argv) != 5:
        print("usage: count-tests.py UNIT_LOG UNIT_RC INTEGRATION_LOG INTEGRATION_RC",
              file=sys.stderr)
        return 2
    unit_log, unit_rc, int_log, int_rc = argv[1], int(argv[2]), argv[3], int(argv[4])
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
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
