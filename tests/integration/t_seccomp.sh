# The seccomp filter seen from inside: each rule through the probe helper.

SECCOMP_NET_RULES="socket_inet socket_inet6 socket_netlink connect bind listen
accept accept4 sendto sendmmsg recvmmsg getsockopt setsockopt getpeername
getsockname shutdown connect_unix bind_unix listen_unix getsockopt_unix"

SECCOMP_ALWAYS_RULES="io_uring_setup ptrace process_vm_readv keyctl add_key
request_key bpf perf_event_open mount umount2 pivot_root fsopen fsmount fspick
fsconfig move_mount open_tree mount_setattr open_by_handle_at unshare_newuser
clone_newuser ioctl_tiocsti ioctl_tiocsti_hi ioctl_tioclinux ioctl_tioclinux_hi"

# probe_expect NAME WANT: compare with the probe output in $OUT; the host
# baseline in $BASELINE tells whether EPERM proves anything here.
probe_expect() {
	local name=$1 want=$2 got base note=""
	got=$(sed -n "s/^$name //p" <<<"$OUT")
	base=$(sed -n "s/^$name //p" <<<"$BASELINE")
	if [ "$want" = EPERM ] && [ "$base" = EPERM ]; then
		note=" (the kernel refuses it for this user without the filter too)"
	fi
	if [ "$got" = "$want" ]; then
		ok "$PROBE_CTX: $name -> $want$note"
	else
		fail "$PROBE_CTX: $name -> $want" "got: ${got:-<no line>}; outside the sandbox: ${base:-?}"
	fi
}

case_seccomp_network_none() {
	BASELINE=$("$PROBE" all)
	ab run -- "$PROBE" all
	expect_exit "probe all runs in the sandbox" 0
	expect "no probe was killed instead of getting an errno" '! grep -q killed: <<<"$OUT"'
	PROBE_CTX="net none"
	local n
	for n in $SECCOMP_NET_RULES $SECCOMP_ALWAYS_RULES; do
		probe_expect "$n" EPERM
	done
	probe_expect clone3 ENOSYS
	probe_expect getpid ok
	probe_expect socket_unix ok
	probe_expect socketpair_unix ok
}

case_seccomp_network_full() {
	BASELINE=$("$PROBE" all)
	ab run --net full -- "$PROBE" all
	expect_exit "probe all runs in the sandbox" 0
	PROBE_CTX="net full"
	local n
	probe_expect socket_inet ok
	probe_expect socket_inet6 ok
	probe_expect socket_unix ok
	for n in $SECCOMP_ALWAYS_RULES; do
		probe_expect "$n" EPERM
	done
	probe_expect clone3 ENOSYS
}

case_seccomp_filter_is_inherited_by_children() {
	# The filter must survive fork+exec inside the sandbox (sh -> probe).
	ab run -- sh -c "sh -c '$PROBE ptrace socket_inet'"
	expect_stdout_eq "grandchild: ptrace and socket_inet -> EPERM" \
		"$(printf 'ptrace EPERM\nsocket_inet EPERM')"
}
