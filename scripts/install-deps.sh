#!/usr/bin/env bash
# Installs the Debian packages agentbox needs to build and test.
#
# A machine that already has everything pays one dpkg-query call: apt is
# only touched when something is missing. Set AGENTBOX_SKIP_DEPS=1 to skip
# the check entirely (e.g. on a distribution without dpkg, where you install
# the equivalents yourself).
set -euo pipefail

# package          why
# build-essential  C compiler (gcc, whose libasan/libubsan serve `make
#                  test-asan`), make, libc headers
# meson            build system
# ninja-build      build backend used by meson
# pkg-config       meson finds libseccomp, jansson and cmocka through it
# libseccomp-dev   the seccomp filter installed by the inner stage
# libjansson-dev   JSON policy files, `explain --json`, the events stream
# libcmocka-dev    unit tests
# bubblewrap       the current sandbox backend (/usr/bin/bwrap)
# util-linux       setpriv: integration tests run as an unprivileged user
# iproute2         integration tests inspect the network namespace (ip)
# curl             integration tests and the demo try to reach the network
# netcat-openbsd   integration tests listen on / connect to sockets (nc)
# git              integration tests and the demo create real git repos
# python3          meson itself; scripts/run-tests.sh reads meson's JSON log
# jq               integration tests read the JSON events and explain --json
# openssh-client   integration tests bind a test ssh-agent in (--allow-unix)
packages=(
	build-essential meson ninja-build pkg-config
	libseccomp-dev libjansson-dev libcmocka-dev
	bubblewrap util-linux iproute2 curl netcat-openbsd git python3 jq openssh-client
)
# npm              integration tests check what npm makes of the proxy
#                  variables and --cache npm (#15); a machine that already
#                  has an npm of its own (nodesource, nvm) keeps it
if ! command -v npm >/dev/null 2>&1; then
	packages+=(npm)
fi

if [ "${AGENTBOX_SKIP_DEPS:-0}" = 1 ]; then
	exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
	# Not Debian: check the tools themselves and say what is missing.
	missing_cmds=()
	for c in cc make meson ninja pkg-config bwrap setpriv ip curl nc git python3 ssh-agent; do
		command -v "$c" >/dev/null 2>&1 || missing_cmds+=("$c")
	done
	if [ ${#missing_cmds[@]} -gt 0 ]; then
		echo "install-deps: no dpkg on this system; install these commands with your package manager: ${missing_cmds[*]}" >&2
		echo "install-deps: and the development files of libseccomp, jansson and cmocka; then rerun with AGENTBOX_SKIP_DEPS=1" >&2
		exit 1
	fi
	exit 0
fi

# One dpkg-query for everything (unknown names are simply absent).
declare -A installed=()
while read -r name _want ok state; do
	# "install ok installed", or "hold ok installed" for a held package
	[ "$ok $state" = "ok installed" ] && installed[$name]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" gcc make libc6-dev 2>/dev/null || true)

is_installed() {
	[ -n "${installed[$1]:-}" ]
}

missing=()
for p in "${packages[@]}"; do
	if is_installed "$p"; then
		continue
	fi
	# A machine with a compiler and make but without the meta package is
	# fine as it is.
	if [ "$p" = build-essential ] && is_installed gcc && is_installed make &&
	   is_installed libc6-dev; then
		continue
	fi
	missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

apt_install=(apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}")

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: install them as root, then run make again:" >&2
	echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive ${apt_install[*]}" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -o DPkg::Lock::Timeout=300 </dev/null
"${apt_install[@]}" </dev/null

# Fail here, with the name, rather than later with a confusing build error.
still=()
for p in "${missing[@]}"; do
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || still+=("$p")
done
if [ ${#still[@]} -gt 0 ]; then
	echo "install-deps: apt-get finished but these are still not installed: ${still[*]}" >&2
	exit 1
fi
