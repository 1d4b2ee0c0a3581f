#!/usr/bin/env bash
# Usage: t_install.sh MESON BUILD_DIR SOURCE_DIR [SANITIZE]
#
# libagentbox as a program outside this tree sees it: `meson install` into
# a temporary DESTDIR, then examples/run_true.c built against the installed
# files through pkg-config (PKG_CONFIG_PATH at the staged pkgconfig dir,
# PKG_CONFIG_SYSROOT_DIR at the DESTDIR so that -I and -L point into it),
# once linked with libagentbox.so and once statically with libagentbox.a,
# and run on every backend this host has: the bwrap backend re-executes the
# example itself as the inner stage, which the library's constructor takes
# over. As root, every run is repeated as uid 65534. Also checks that both
# libraries export exactly the functions agentbox.h declares.
#
# The DESTDIR is under /var/tmp: the sandboxes below may write /tmp and
# their working directory, and agentbox refuses to run a program (or a
# shared object) that its sandbox could replace. Prints "ok - ..." /
# "not ok - ..." lines and ends with "N passed, N failed".
#
# SANITIZE is meson's b_sanitize: in a sanitizer build the installed
# libraries are instrumented, so the example is built with the same
# -fsanitize, and only against the shared library (the sanitizer runtimes
# cannot be linked statically).
set -u

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	echo "usage: $0 MESON BUILD_DIR SOURCE_DIR [SANITIZE]" >&2
	exit 2
fi
meson=$1 build=$2 src=$3 sanitize=${4:-none}
san_flags=()
[ "$sanitize" != none ] && san_flags=("-fsanitize=$sanitize")
if [ -n "${AGENTBOX_IT_ONLY:-}" ] && ! grep -Eq -- "$AGENTBOX_IT_ONLY" <<<"lib_install"; then
	echo "skipped: AGENTBOX_IT_ONLY does not select lib_install"
	exit 77
fi

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() {
	echo "not ok - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/    /'
	failed=$((failed + 1))
}
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

tmp=$(mktemp -d /var/tmp/ab-lib-XXXXXX) || exit 1
work=$(mktemp -d /tmp/ab-lib-work-XXXXXX) || exit 1
trap 'rm -rf "$tmp" "$work"' EXIT
chmod 755 "$work"
mkdir "$work/root" "$work/user"
chmod 755 "$tmp"
dest=$tmp/dest

if out=$("$meson" install -C "$build" --no-rebuild --destdir "$dest" 2>&1); then
	ok "meson install into a DESTDIR"
else
	not_ok "meson install into a DESTDIR" "$out"
	finish
fi
pc=$(find "$dest" -name agentbox.pc | head -n1)
if [ -z "$pc" ]; then
	not_ok "agentbox.pc is installed" "$(cd "$dest" && find . | sort)"
	finish
fi
ok "agentbox.pc is installed (${pc#"$dest"})"
libdir=$(dirname "$(dirname "$pc")")
for f in libagentbox.so libagentbox.so.0 libagentbox.a; do
	if [ -e "$libdir/$f" ]; then ok "$f is installed"; else not_ok "$f is installed" "not in $libdir"; fi
done
if [ -e "$(dirname "$libdir")/../include/agentbox.h" ] || find "$dest" -name agentbox.h | grep -q .; then
	ok "agentbox.h is installed"
else
	not_ok "agentbox.h is installed"
fi
soname=$(readelf -d "$libdir/libagentbox.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
if [ "$soname" = libagentbox.so.0 ]; then ok "soname is libagentbox.so.0"; else not_ok "soname is libagentbox.so.0" "found '$soname'"; fi

# What agentbox.h declares is what both libraries export, and nothing else.
declared=$(grep -E '^AB_EXPORT ' "$src/include/agentbox.h" | grep -oE '\bab_[a-z_]+\(' | tr -d '(' | sort -u)
so_syms=$(nm -D --defined-only "$libdir/libagentbox.so" | awk '{print $3}' | sort -u)
a_syms=$(nm -g --defined-only "$libdir/libagentbox.a" | awk 'NF == 3 {print $3}' | sort -u)
for lib in so a; do
	syms=$so_syms
	[ $lib = a ] && syms=$a_syms
	if [ "$syms" = "$declared" ]; then
		ok "libagentbox.$lib exports exactly the $(wc -l <<<"$declared") functions of agentbox.h"
	else
		not_ok "libagentbox.$lib exports exactly the functions of agentbox.h" \
			"$(diff <(echo "$declared") <(echo "$syms") | sed 's/^</declared only:/; s/^>/exported only:/')"
	fi
done

export PKG_CONFIG_PATH=$libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
cc=${CC:-cc}
# shellcheck disable=SC2046
if out=$("$cc" -Wall -Wextra -Werror "${san_flags[@]}" -o "$tmp/run_true_shared" \
	"$src/examples/run_true.c" $(pkg-config --cflags --libs agentbox) 2>&1); then
	ok "example builds with pkg-config --cflags --libs agentbox"
else
	not_ok "example builds with pkg-config --cflags --libs agentbox" "$out"
fi
# glibc warns that getaddrinfo in a static binary needs its shared NSS
# modules at run time; that is expected, -Werror is not used for the link.
# shellcheck disable=SC2046
if [ "$sanitize" != none ]; then
	echo "ok - example builds statically with pkg-config --static # SKIP sanitizer build ($sanitize): no static sanitizer runtimes"
	passed=$((passed + 1))
elif out=$("$cc" -Wall -Wextra -static -o "$tmp/run_true_static" "$src/examples/run_true.c" \
	$(pkg-config --static --cflags --libs agentbox) 2>&1); then
	ok "example builds statically with pkg-config --static"
else
	not_ok "example builds statically with pkg-config --static" "$out"
fi
# The non-blocking API (ab_start, ab_child_*): examples/start_kill.c.
# shellcheck disable=SC2046
if out=$("$cc" -Wall -Wextra -Werror "${san_flags[@]}" -o "$tmp/start_kill_shared" \
	"$src/examples/start_kill.c" $(pkg-config --cflags --libs agentbox) 2>&1); then
	ok "start_kill example builds with pkg-config"
else
	not_ok "start_kill example builds with pkg-config" "$out"
fi
# shellcheck disable=SC2046
if [ "$sanitize" = none ] && ! out=$("$cc" -Wall -Wextra -static -o "$tmp/start_kill_static" \
	"$src/examples/start_kill.c" $(pkg-config --static --cflags --libs agentbox) 2>&1); then
	not_ok "start_kill example builds statically" "$out"
fi
if [ -x "$tmp/run_true_shared" ] && readelf -d "$tmp/run_true_shared" | grep -q 'NEEDED.*libagentbox.so.0'; then
	ok "the shared example needs libagentbox.so.0"
else
	not_ok "the shared example needs libagentbox.so.0"
fi
if [ "$sanitize" != none ]; then
	:
elif [ -x "$tmp/run_true_static" ] && ! readelf -d "$tmp/run_true_static" 2>/dev/null | grep -q NEEDED; then
	ok "the static example needs no shared library"
else
	not_ok "the static example needs no shared library"
fi

backends=(builtin bwrap landlock)
# run_example AS VARIANT BACKEND [PROGRAM]: AS is "" or a setpriv prefix
run_example() {
	local who=$1 variant=$2 backend=$3 prog=${4:-run_true} out rc
	local dir=$work/root
	[ -n "$who" ] && dir=$work/user
	out=$(cd "$dir" && env LD_LIBRARY_PATH="$libdir" $who "$tmp/${prog}_$variant" "$backend" 2>&1)
	rc=$?
	local name="$variant $prog example, $backend backend${who:+, uid 65534}"
	if [ "$prog" = run_true ] && [ $rc -eq 0 ] && grep -qx hi <<<"$out" && grep -q "exit status 0" <<<"$out"; then
		ok "$name: hi, exit status 0"
	elif [ "$prog" = start_kill ] && [ $rc -eq 0 ] && grep -q "exit status 143" <<<"$out"; then
		ok "$name: started, killed with SIGTERM, exit status 143"
	elif grep -qE "not usable|cannot create the sandbox's namespaces|no usable bubblewrap|Landlock is not" <<<"$out"; then
		echo "ok - $name # SKIP backend not available here: $(head -n1 <<<"$out")"
		passed=$((passed + 1))
	else
		not_ok "$name" "exit $rc; output:"$'\n'"$out"
	fi
}
users=("")
if [ "$(id -u)" -eq 0 ]; then
	users+=("setpriv --reuid 65534 --regid 65534 --clear-groups")
	chown 65534:65534 "$work/user"
fi
for who in "${users[@]}"; do
	for variant in shared static; do
		[ -x "$tmp/run_true_$variant" ] || continue
		for b in "${backends[@]}"; do
			run_example "$who" "$variant" "$b"
			[ -x "$tmp/start_kill_$variant" ] && run_example "$who" "$variant" "$b" start_kill
		done
	done
done

# The hand-over itself: started as the inner stage by hand, the example
# is agentbox's inner stage (which refuses to run with capabilities, or
# runs the command), never the example's own main().
for variant in shared static; do
	[ -x "$tmp/run_true_$variant" ] || continue
	out=$(LD_LIBRARY_PATH="$libdir" "$tmp/run_true_$variant" __inner --net none -- /bin/echo handed-over 2>&1)
	if grep -q "unknown backend" <<<"$out"; then
		not_ok "$variant example: __inner reaches the inner stage, not main()" "$out"
	elif grep -qE "^handed-over$|agentbox: inner stage" <<<"$out"; then
		ok "$variant example: __inner reaches the inner stage, not main()"
	else
		not_ok "$variant example: __inner reaches the inner stage, not main()" "$out"
	fi
done
finish
