#!/usr/bin/env bash
# Usage: scripts/run-tests.sh BUILD_DIR
#
# Runs the unit suite, then the integration suite, of an already configured
# meson build directory, and ends with one line:
#   tests: N passed, N failed
# Counts come from meson's JSON logs (BUILD_DIR/meson-logs/testlog-unit.json
# and testlog-integration.json), read by scripts/count-tests.py: each cmocka
# case counts once, from the last cmocka summary of its binary (the test
# process's own; a forked child's never counts), the integration script
# counts its own "N passed, N failed[, N skipped]". A test binary that
# crashes, leaks (ASan), times out or prints more than one summary counts
# as one more failure even when its cases passed. Exits non-zero if
# anything failed.
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

python3 "$(dirname "$0")/count-tests.py" "$logs/testlog-unit.json" "$unit_rc" \
	"$logs/testlog-integration.json" "$int_rc"
count_rc=$?

if [ $count_rc -ne 0 ] || [ $unit_rc -ne 0 ] || [ $int_rc -ne 0 ]; then
	exit 1
fi
exit 0
