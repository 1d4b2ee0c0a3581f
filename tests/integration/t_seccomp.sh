# The seccomp filter seen from inside: each rule through the probe helper.

# Socket calls: refused only on the Landlock backend (no network
# namespace) under --net none; on the namespace backends they reach the
# kernel (the sandbox's own loopback, unix sockets among its processes).
SECCOMP_NET_CALLS="connect bind listen accept accept4 sendto sendmmsg recvmmsg
getsockopt setsockopt getpeername getsockname shutdown connect_unix bind_unix
listen_unix getsockopt_unix"

SECCOMP_ALWAYS_RULES="io_uring_setup ptrace process_vm_readv keyctl add_key
request_key bpf perf_event_open mount umount2 pivot_root fsopen fsmount fspick
fsconfig move_mount open_tree mount_setattr open_by_handle_at unshare_newuser
clone_newuser ioctl_tiocsti ioctl_tiocsti_hi ioctl_tioclinux ioctl_tioclinux_hi
userfaultfd ioctl_userfaultfd_new memfd_secret personality_addr_no_randomize
chmod_setuid fchmod_setgid fchmodat_setuid fchmodat2_setgid openat_creat_setuid
openat_tmpfile_setgid mkdirat_setgid mknodat_setuid mknodat_chr mknodat_blk"

# Unix datagram sockets (a datagram can be addressed to a host path on
# every send): refused under --net none and proxy, kept under full.
SECCOMP_DGRAM_RULES="socket_unix_dgram socket_unix_raw socketpair_unix_dgram
socketpair_unix_dgram_nonblock"

# seccomp_common_checks: what holds in every network mode besides the
# refusals: harmless modes and the personality query reach the kernel
# (ENOENT: the probe's path does not exist), openat2 says ENOSYS.
seccomp_common_checks() {
	probe_expect clone3 ENOSYS
	probe_expect openat2_creat_setuid ENOSYS
	probe_expect chmod_plain ENOENT
	probe_expect openat_creat_plain ENOENT
	probe_expect mknodat_fifo ENOENT
	probe_expect personality_query ok
	probe_expect personality_linux ok
	probe_expect socketpair_unix_seqpacket ok
}

case_seccomp_network_none() {
	BASELINE=$("$PROBE" all)
	ab run -- "$PROBE" all
	expect_exit "probe all runs in the sandbox" 0
	expect "no probe was killed instead of getting an errno" '! grep -q killed: <<<"$OUT"'
	PROBE_CTX="net none"
	local n
	for n in $SECCOMP_ALWAYS_RULES $SECCOMP_DGRAM_RULES socket_netlink; do
		probe_expect "$n" EPERM
	done
	# the kernel's own answers, as outside (fd -1: EBADF; the abstract
	# name nobody listens on: ECONNREFUSED)
	for n in $SECCOMP_NET_CALLS; do
		probe_expect "$n" "$(sed -n "s/^$n //p" <<<"$BASELINE")"
	done
	seccomp_common_checks
	probe_expect getpid ok
	probe_expect socket_inet ok
	probe_expect socket_inet6 ok # "not available" on a kernel without IPv6
	probe_expect socket_unix ok
	probe_expect socket_unix_seqpacket ok
	probe_expect socketpair_unix ok
}

# seccomp_full_checks [WRAPPER...]: --net full, with agentbox and the host
# baseline both run under WRAPPER (a stand-in for a kernel that lacks
# something).
seccomp_full_checks() {
	BASELINE=$("$@" "$PROBE" all)
	abx "$@" "$AGENTBOX" run --net full -- "$PROBE" all
	expect_exit "probe all runs in the sandbox" 0
	PROBE_CTX="net full${1:+ under $(basename "$1") ${2:-}}"
	local n
	probe_expect socket_inet ok
	probe_expect socket_inet6 ok
	probe_expect socket_unix ok
	for n in $SECCOMP_ALWAYS_RULES; do
		probe_expect "$n" EPERM
	done
	for n in $SECCOMP_DGRAM_RULES; do
		probe_expect "$n" ok
	done
	seccomp_common_checks
}

case_seccomp_network_full() {
	seccomp_full_checks
}

# A kernel without IPv6 (deny_userns --no-ipv6: socket(AF_INET6) fails with
# EAFNOSUPPORT for agentbox, the sandbox and the baseline alike): the IPv6
# check says "not available", every rule of the filter is still checked.
case_seccomp_network_full_on_a_kernel_without_ipv6() {
	local deny
	deny=$(deny_tool) || { skip "no IPv6" "deny_userns not installed next to the probe"; return; }
	seccomp_full_checks "$deny" --no-ipv6
	expect "the baseline shows no IPv6" 'grep -qx "socket_inet6 EAFNOSUPPORT" <<<"$BASELINE"'
	abx "$deny" --no-ipv6 "$AGENTBOX" run --net none -- "$PROBE" socket_inet socket_inet6 socket_netlink
	expect_stdout_eq "net none: IPv4 works, IPv6 is the kernel's EAFNOSUPPORT, netlink the filter's EPERM" \
		"$(printf 'socket_inet ok\nsocket_inet6 EAFNOSUPPORT\nsocket_netlink EPERM')"
	# --net proxy needs the mount API (t_netproxy.sh)
	[ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" = 1 ] && return 0
	abx "$deny" --no-ipv6 "$AGENTBOX" run --net proxy -- "$PROBE" socket_inet socket_inet6
	expect_exit "net proxy: the probe runs in the sandbox without IPv6" 0
	PROBE_CTX="net proxy under deny_userns --no-ipv6"
	probe_expect socket_inet ok
	probe_expect socket_inet6 ok
}

case_seccomp_filter_is_inherited_by_children() {
	# The filter must survive fork+exec inside the sandbox (sh -> probe).
	ab run -- sh -c "sh -c '$PROBE ptrace socket_netlink'"
	expect_stdout_eq "grandchild: ptrace and socket_netlink -> EPERM" \
		"$(printf 'ptrace EPERM\nsocket_netlink EPERM')"
}

# --net proxy: the same refusals, IP sockets and connection-oriented unix
# sockets allowed (the never-list hides the host's dangerous ones), no
# netlink, socketpair only of the connection-oriented types.
case_seccomp_network_proxy() {
	# --net proxy needs the mount API (t_netproxy.sh)
	if [ "${AGENTBOX_TEST_LEGACY_MOUNT:-0}" = 1 ]; then
		skip "net proxy" "the legacy-mount pass has no --net proxy"
		return 0
	fi
	BASELINE=$("$PROBE" all)
	ab run --net proxy -- "$PROBE" all
	expect_exit "probe all runs in the sandbox" 0
	expect "no probe was killed instead of getting an errno" '! grep -q killed: <<<"$OUT"'
	PROBE_CTX="net proxy"
	local n
	for n in $SECCOMP_ALWAYS_RULES $SECCOMP_DGRAM_RULES socket_netlink; do
		probe_expect "$n" EPERM
	done
	seccomp_common_checks
	probe_expect socket_inet ok
	probe_expect socket_unix ok
	probe_expect socketpair_unix ok
}
