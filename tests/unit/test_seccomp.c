/* The seccomp filter against the real kernel. Every probe runs in a forked
 * child that sets no_new_privs, loads the filter and makes the call with
 * syscall(2), so no libc wrapper hides or rewrites anything; the child sends
 * the return value and errno back through a pipe, or dies trying (the
 * child has default signal handlers: probe_child.h). Where it
 * tells us something, the same probe also runs without a filter
 * ("baseline") to show that the filter is what produced the result. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "inner/seccomp.h"
#include "probe_child.h"
#include "seccomp_probe.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
/* Old headers: these numbers are shared by every architecture. */
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif
#ifndef __NR_open_tree
#define __NR_open_tree 428
#define __NR_move_mount 429
#define __NR_fsopen 430
#define __NR_fsconfig 431
#define __NR_fsmount 432
#define __NR_fspick 433
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif

#define X32_SYSCALL_BIT 0x40000000L
extern char **environ;

/* Without CAP_SYS_ADMIN many of these calls fail with EPERM on their own,
 * and then the baseline cannot show the filter's effect. */
static bool have_sys_admin(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	return data[CAP_SYS_ADMIN / 32].effective & (1U << (CAP_SYS_ADMIN % 32));
}

/* ---- raw calls ------------------------------------------------------- */

/* Arguments are chosen so that, unfiltered, the kernel fails with
 * something other than EPERM (EFAULT, EBADF, EINVAL ...) for a privileged
 * caller, or succeeds harmlessly. */
static const struct raw_call always_denied[] = {
	{ "ptrace", __NR_ptrace, { 0x4206 /* PTRACE_SEIZE */, 0, 0, 0, 0, 0 } },
	{ "process_vm_readv", __NR_process_vm_readv, { 0, 0, 1, 0, 1, 0 } },
	{ "process_vm_writev", __NR_process_vm_writev, { 0, 0, 1, 0, 1, 0 } },
	{ "io_uring_setup", __NR_io_uring_setup, { 0, 0, 0, 0, 0, 0 } },
	{ "io_uring_enter", __NR_io_uring_enter, { -1, 0, 0, 0, 0, 0 } },
	{ "io_uring_register", __NR_io_uring_register, { -1, 0, 0, 0, 0, 0 } },
	{ "keyctl", __NR_keyctl, { -1, 0, 0, 0, 0, 0 } },
	{ "add_key", __NR_add_key, { 0, 0, 0, 0, 0, 0 } },
	{ "request_key", __NR_request_key, { 0, 0, 0, 0, 0, 0 } },
	{ "bpf", __NR_bpf, { -1, 0, 0, 0, 0, 0 } },
	{ "perf_event_open", __NR_perf_event_open, { 0, 0, -1, -1, 0, 0 } },
	{ "mount", __NR_mount, { 0, 0, 0, 0, 0, 0 } },
	{ "umount2", __NR_umount2, { 0, 0, 0, 0, 0, 0 } },
	{ "pivot_root", __NR_pivot_root, { 0, 0, 0, 0, 0, 0 } },
	{ "fsopen", __NR_fsopen, { 0, 0, 0, 0, 0, 0 } },
	{ "fsconfig", __NR_fsconfig, { -1, 0, 0, 0, 0, 0 } },
	{ "fsmount", __NR_fsmount, { -1, 0, 0, 0, 0, 0 } },
	{ "fspick", __NR_fspick, { -1, 0, 0, 0, 0, 0 } },
	{ "move_mount", __NR_move_mount, { -1, 0, -1, 0, 0, 0 } },
	{ "open_tree", __NR_open_tree, { -1, 0, 0, 0, 0, 0 } },
	{ "mount_setattr", __NR_mount_setattr, { -1, 0, 0, 0, 0, 0 } },
	{ "open_by_handle_at", __NR_open_by_handle_at, { -1, 0, 0, 0, 0, 0 } },
};

static const struct raw_call net_denied[] = {
	{ "connect", __NR_connect, { -1, 0, 0, 0, 0, 0 } },
	{ "bind", __NR_bind, { -1, 0, 0, 0, 0, 0 } },
	{ "listen", __NR_listen, { -1, 0, 0, 0, 0, 0 } },
	{ "accept", __NR_accept, { -1, 0, 0, 0, 0, 0 } },
	{ "accept4", __NR_accept4, { -1, 0, 0, 0, 0, 0 } },
	{ "sendto", __NR_sendto, { -1, 0, 0, 0, 0, 0 } },
	{ "sendmmsg", __NR_sendmmsg, { -1, 0, 0, 0, 0, 0 } },
	{ "recvmmsg", __NR_recvmmsg, { -1, 0, 0, 0, 0, 0 } },
	{ "getsockopt", __NR_getsockopt, { -1, 0, 0, 0, 0, 0 } },
	{ "setsockopt", __NR_setsockopt, { -1, 0, 0, 0, 0, 0 } },
	{ "getpeername", __NR_getpeername, { -1, 0, 0, 0, 0, 0 } },
	{ "getsockname", __NR_getsockname, { -1, 0, 0, 0, 0, 0 } },
	{ "shutdown", __NR_shutdown, { -1, 0, 0, 0, 0, 0 } },
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static void test_dangerous_calls_fail_with_eperm_in_both_network_modes(void **state)
{
	bool baseline = have_sys_admin();

	for (size_t i = 0; i < N_ELEMS(always_denied); i++) {
		const struct raw_call *c = &always_denied[i];
		char what[96];

		snprintf(what, sizeof(what), "%s (net none)", c->name);
		expect_errno(what, run_probe(AB_NET_NONE, probe_raw, c), EPERM);
		snprintf(what, sizeof(what), "%s (net full)", c->name);
		expect_errno(what, run_probe(AB_NET_FULL, probe_raw, c), EPERM);
		snprintf(what, sizeof(what), "%s (net proxy)", c->name);
		expect_errno(what, run_probe(AB_NET_PROXY, probe_raw, c), EPERM);
		/* The arguments are chosen so that the kernel itself answers
		 * something else; a host that turned the call off
		 * (kernel.io_uring_disabled=2, say) answers EPERM too, and then
		 * the filter's EPERM cannot be told apart here. */
		if (baseline && failed_with(run_probe(NO_FILTER, probe_raw, c), EPERM))
			print_message("note: not available: %s fails with EPERM without the "
				      "filter too; that the filter refuses it is not seen here\n",
				      c->name);
	}
}

#define NO_NETNS AB_SECCOMP_NO_NET_NAMESPACE

/* The socket calls themselves are refused only under --net none without
 * a network namespace of its own (the Landlock backend's variant): with
 * one, loopback is the sandbox's own and the command's servers need
 * bind, listen, accept and connect. */
static void test_socket_calls_fail_with_eperm_only_without_network_namespace(void **state)
{
	for (size_t i = 0; i < N_ELEMS(net_denied); i++) {
		const struct raw_call *c = &net_denied[i];
		char what[96];

		snprintf(what, sizeof(what), "%s (net none, no network namespace)", c->name);
		expect_errno(what, run_probe_flags(AB_NET_NONE, NO_NETNS, probe_raw, c), EPERM);
		/* fd -1: the kernel's own answer, proving the call got through */
		snprintf(what, sizeof(what), "%s (net none, own network namespace)", c->name);
		expect_errno(what, run_probe(AB_NET_NONE, probe_raw, c), EBADF);
		snprintf(what, sizeof(what), "%s (net full)", c->name);
		expect_errno(what, run_probe(AB_NET_FULL, probe_raw, c), EBADF);
		/* the proxy mode needs IP socket calls: they reach the kernel */
		snprintf(what, sizeof(what), "%s (net proxy)", c->name);
		expect_errno(what, run_probe(AB_NET_PROXY, probe_raw, c), EBADF);
		snprintf(what, sizeof(what), "%s (net proxy, no network namespace)", c->name);
		expect_errno(what, run_probe_flags(AB_NET_PROXY, NO_NETNS, probe_raw, c), EBADF);
	}
}

/* ---- namespaces and clone -------------------------------------------- */

static void test_unshare_newuser_is_denied(void **state)
{
	expect_errno("unshare(CLONE_NEWUSER)",
		     run_raw(AB_NET_FULL, __NR_unshare, CLONE_NEWUSER, 0, 0), EPERM);
	expect_errno("unshare(CLONE_NEWUSER|CLONE_NEWNS)",
		     run_raw(AB_NET_FULL, __NR_unshare, CLONE_NEWUSER | CLONE_NEWNS, 0, 0),
		     EPERM);
	/* only meaningful where user namespaces work at all */
	if (succeeded(run_raw(NO_FILTER, __NR_unshare, CLONE_NEWUSER, 0, 0)))
		print_message("baseline: unshare(CLONE_NEWUSER) works unfiltered\n");
}

static void test_unshare_without_newuser_is_allowed(void **state)
{
	expect_success("unshare(0)", run_raw(AB_NET_NONE, __NR_unshare, 0, 0, 0));
	/* a flag that needs no privilege: CLONE_FILES */
	expect_success("unshare(CLONE_FILES)",
		       run_raw(AB_NET_NONE, __NR_unshare, CLONE_FILES, 0, 0));
}

static long probe_clone(const void *arg)
{
	const long *flags = arg;
#if defined(__s390__) || defined(__s390x__)
	long r = syscall(__NR_clone, 0, *flags | SIGCHLD, 0, 0, 0);
#else
	long r = syscall(__NR_clone, *flags | SIGCHLD, 0, 0, 0, 0);
#endif
	if (r == 0)
		_exit(0);
	if (r > 0) {
		int status;
		if (waitpid((pid_t)r, &status, 0) != r || !WIFEXITED(status))
			return -2;
	}
	return r;
}

static void test_clone_newuser_is_denied(void **state)
{
	long flags = CLONE_NEWUSER;
	expect_errno("clone(CLONE_NEWUSER)", run_probe(AB_NET_FULL, probe_clone, &flags),
		     EPERM);
	flags = 0;
	expect_success("clone(SIGCHLD)", run_probe(AB_NET_NONE, probe_clone, &flags));
	flags = CLONE_NEWUSER;
	if (!succeeded(run_probe(NO_FILTER, probe_clone, &flags)))
		print_message("note: clone(CLONE_NEWUSER) fails here even unfiltered\n");
}

static long probe_fork(const void *arg)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return -1;
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -2;
	return 0;
}

static void test_plain_fork_is_allowed(void **state)
{
	expect_success("fork", run_probe(AB_NET_NONE, probe_fork, NULL));
}

static void test_clone3_fails_with_enosys(void **state)
{
	struct clone_args ca;
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_NEWUSER;
	ca.exit_signal = SIGCHLD;

	expect_errno("clone3(NULL)", run_raw(AB_NET_NONE, __NR_clone3, 0, 0, 0), ENOSYS);
	expect_errno("clone3(CLONE_NEWUSER)",
		     run_raw(AB_NET_FULL, __NR_clone3, (long)&ca, sizeof(ca), 0), ENOSYS);
	/* unfiltered the kernel has clone3 and rejects the bad size; a kernel
	 * before 5.3 has none, and the filter's ENOSYS is its own answer */
	struct outcome base = run_raw(NO_FILTER, __NR_clone3, 0, 0, 0);
	if (failed_with(base, ENOSYS))
		print_message("note: not available: this kernel has no clone3, so its "
			      "ENOSYS and the filter's look the same\n");
	else
		expect_errno("clone3(NULL) unfiltered", base, EINVAL);
}

static long probe_posix_spawn(const void *arg)
{
	char *const argv[] = { (char *)"true", NULL };
	pid_t pid;
	int r = posix_spawnp(&pid, "true", NULL, NULL, argv, environ);
	if (r != 0) {
		errno = r;
		return -1;
	}
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -2;
	return 0;
}

/* glibc's posix_spawn tries clone3 first; ENOSYS must send it to clone. */
static void test_posix_spawn_falls_back_from_clone3(void **state)
{
	expect_success("posix_spawn", run_probe(AB_NET_NONE, probe_posix_spawn, NULL));
}

/* ---- ioctl ----------------------------------------------------------- */

static long probe_ioctl_on_pipe(const void *arg)
{
	const unsigned long *req = arg;
	int p[2];
	if (pipe(p) != 0)
		return -3;
	if (write(p[1], "xyz", 3) != 3)
		return -3;
	int avail = -1;
	long r = syscall(__NR_ioctl, p[0], *req, &avail);
	if (r == 0 && *req == FIONREAD && avail != 3)
		return -4;
	return r;
}

static void test_tiocsti_is_denied_even_with_high_bits_set(void **state)
{
	unsigned long req = TIOCSTI;
	expect_errno("TIOCSTI", run_probe(AB_NET_FULL, probe_ioctl_on_pipe, &req), EPERM);
	/* unfiltered a pipe is simply not a tty */
	expect_errno("TIOCSTI unfiltered", run_probe(NO_FILTER, probe_ioctl_on_pipe, &req),
		     ENOTTY);

	/* the kernel drops the high half, so this still means TIOCSTI */
	req = 0x100000000UL | TIOCSTI;
	expect_errno("TIOCSTI|1<<32 unfiltered",
		     run_probe(NO_FILTER, probe_ioctl_on_pipe, &req), ENOTTY);
	expect_errno("TIOCSTI|1<<32", run_probe(AB_NET_NONE, probe_ioctl_on_pipe, &req),
		     EPERM);
	req = 0xffffffff00000000UL | TIOCSTI;
	expect_errno("TIOCSTI|0xffffffff<<32",
		     run_probe(AB_NET_FULL, probe_ioctl_on_pipe, &req), EPERM);
}

static void test_tioclinux_is_denied(void **state)
{
	unsigned long req = TIOCLINUX;
	expect_errno("TIOCLINUX", run_probe(AB_NET_NONE, probe_ioctl_on_pipe, &req), EPERM);
	req = 0x100000000UL | TIOCLINUX;
	expect_errno("TIOCLINUX|1<<32", run_probe(AB_NET_FULL, probe_ioctl_on_pipe, &req),
		     EPERM);
}

static void test_unrelated_ioctl_is_allowed(void **state)
{
	unsigned long req = FIONREAD;
	expect_success("FIONREAD", run_probe(AB_NET_NONE, probe_ioctl_on_pipe, &req));
}

/* ---- sockets --------------------------------------------------------- */

static long probe_socket(const void *arg)
{
	const long *domain = arg;
	long fd = syscall(__NR_socket, *domain, SOCK_STREAM, 0);
	if (fd < 0 && errno == ESOCKTNOSUPPORT)
		fd = syscall(__NR_socket, *domain, SOCK_DGRAM, 0);
	return fd;
}

static struct outcome run_socket(int net, long domain)
{
	return run_probe(net, probe_socket, &domain);
}

/* The filter lets socket(domain) through to the kernel under `net`: it
 * succeeds. Where the kernel lacks the family (no IPv6) it fails without
 * the filter too; then it must fail the same way under the filter (the
 * kernel's answer, not the filter's), and a note says the success cannot
 * be seen here. */
static void expect_socket_works(const char *what, int net, long domain)
{
	struct outcome o = run_socket(net, domain);
	if (succeeded(o))
		return;
	struct outcome base = run_socket(NO_FILTER, domain);
	if (!succeeded(base) && base.returned && failed_with(o, base.err)) {
		print_message("note: not available: %s fails without the filter too "
			      "(%s): this kernel lacks the family\n",
			      what, strerror(base.err));
		return;
	}
	expect_success(what, o);
}

static void test_unix_sockets_are_allowed_without_network(void **state)
{
	expect_success("socket(AF_UNIX)", run_socket(AB_NET_NONE, AF_UNIX));
	/* the kernel reads the domain as an int: this is AF_UNIX */
	expect_success("socket(AF_UNIX|1<<32)",
		       run_socket(AB_NET_NONE, 0x100000000L | AF_UNIX));
}

static long probe_socketpair(const void *arg)
{
	int sv[2];
	long r = syscall(__NR_socketpair, AF_UNIX, SOCK_STREAM, 0, sv);
	if (r != 0)
		return r;
	/* write/read (not send/recv) must keep working on them */
	if (write(sv[0], "x", 1) != 1)
		return -1;
	char c;
	return read(sv[1], &c, 1) == 1 && c == 'x' ? 0 : -1;
}

static void test_socketpair_is_allowed_without_network(void **state)
{
	expect_success("socketpair(AF_UNIX)", run_probe(AB_NET_NONE, probe_socketpair, NULL));
}

/* Families refused under --net none and proxy whatever the backend. */
static const struct {
	const char *name;
	long domain;
} never_families[] = {
	{ "AF_NETLINK", AF_NETLINK },
	{ "AF_PACKET", AF_PACKET },
	{ "AF_VSOCK", AF_VSOCK },
	{ "AF_UNSPEC", AF_UNSPEC },
	{ "AF_UNIX|1<<31", 0x80000000L | AF_UNIX },
	{ "AF_INET|1<<31", 0x80000000L | AF_INET },
	{ "AF_INET6|1<<4", 0x10L | AF_INET6 },
	{ "AF_INET|1<<3|1<<0 (11)", AF_INET | 8 | 1 },
	{ "AF_AX25 (3)", 3 },
	{ "AF_X25 (9)", 9 },
};

static long probe_socket_type(const void *arg)
{
	const long *dt = arg;
	return syscall(__NR_socket, dt[0], dt[1], 0);
}

/* --net none with a network namespace of its own: unix, IPv4 and IPv6
 * sockets (the sandbox's loopback), nothing else; no raw IP sockets. */
static void test_none_with_own_netns_allows_unix_and_ip_sockets_only(void **state)
{
	(void)state;
	expect_socket_works("socket(AF_INET) net none", AB_NET_NONE, AF_INET);
	expect_socket_works("socket(AF_INET6) net none", AB_NET_NONE, AF_INET6);
	expect_socket_works("socket(AF_INET|1<<32) net none", AB_NET_NONE, 0x100000000L | AF_INET);
	const long udp[2] = { AF_INET, SOCK_DGRAM };
	expect_success("socket(AF_INET, SOCK_DGRAM) net none",
		       run_probe(AB_NET_NONE, probe_socket_type, udp));
	const long raw[2] = { AF_INET, SOCK_RAW };
	expect_errno("socket(AF_INET, SOCK_RAW) net none",
		     run_probe(AB_NET_NONE, probe_socket_type, raw), EPERM);
	const long unix_dgram[2] = { AF_UNIX, SOCK_DGRAM };
	expect_errno("socket(AF_UNIX, SOCK_DGRAM) net none",
		     run_probe(AB_NET_NONE, probe_socket_type, unix_dgram), EPERM);
	for (size_t i = 0; i < N_ELEMS(never_families); i++) {
		char what[96];
		snprintf(what, sizeof(what), "socket(%s) net none", never_families[i].name);
		expect_errno(what, run_socket(AB_NET_NONE, never_families[i].domain), EPERM);
	}
}

/* Without a network namespace (Landlock) --net none keeps AF_UNIX only:
 * an IP listener would be on the host's loopback. */
static void test_other_socket_domains_fail_with_eperm_without_network_namespace(void **state)
{
	(void)state;
	expect_success("socket(AF_UNIX) no netns",
		       run_probe_flags(AB_NET_NONE, NO_NETNS, probe_socket, &(long){AF_UNIX}));
	static const struct {
		const char *name;
		long domain;
	} domains[] = {
		{ "AF_INET", AF_INET },
		{ "AF_INET6", AF_INET6 },
		{ "AF_INET|1<<32", 0x100000000L | AF_INET },
	};
	for (size_t i = 0; i < N_ELEMS(domains); i++)
		expect_errno(domains[i].name,
			     run_probe_flags(AB_NET_NONE, NO_NETNS, probe_socket, &domains[i].domain),
			     EPERM);
	for (size_t i = 0; i < N_ELEMS(never_families); i++)
		expect_errno(never_families[i].name,
			     run_probe_flags(AB_NET_NONE, NO_NETNS, probe_socket,
					     &never_families[i].domain),
			     EPERM);
}

static void test_full_network_allows_inet_but_keeps_other_rules(void **state)
{
	expect_socket_works("socket(AF_INET) net full", AB_NET_FULL, AF_INET);
	expect_success("socket(AF_UNIX) net full", run_socket(AB_NET_FULL, AF_UNIX));
	expect_errno("ptrace net full",
		     run_raw(AB_NET_FULL, __NR_ptrace, 0x4206, 0, 0), EPERM);
	expect_errno("io_uring_setup net full",
		     run_raw(AB_NET_FULL, __NR_io_uring_setup, 0, 0, 0), EPERM);
}

/* --net proxy: IP sockets (the sandbox's own namespace holds only
 * loopback and the proxy's listeners), unix sockets where the command has
 * a network namespace of its own (the never-list hides the host's
 * sockets), socketpair; no other family. Without a network namespace no
 * new AF_UNIX socket: it could connect to any host socket by path. */
static void test_proxy_network_allows_only_ip_sockets_and_socketpair(void **state)
{
	(void)state;
	for (unsigned flags = 0; flags <= NO_NETNS; flags += NO_NETNS) {
		const char *v = flags ? " (no netns)" : "";
		char what[96];
		snprintf(what, sizeof(what), "socket(AF_INET6) net proxy%s", v);
		struct outcome o = run_probe_flags(AB_NET_PROXY, flags, probe_socket, &(long){AF_INET6});
		struct outcome base = run_socket(NO_FILTER, AF_INET6);
		if (succeeded(base))
			expect_success(what, o);
		snprintf(what, sizeof(what), "socket(AF_INET|1<<32) net proxy%s", v);
		expect_success(what, run_probe_flags(AB_NET_PROXY, flags, probe_socket,
						     &(long){0x100000000L | AF_INET}));
		snprintf(what, sizeof(what), "socketpair(AF_UNIX) net proxy%s", v);
		expect_success(what, run_probe_flags(AB_NET_PROXY, flags, probe_socketpair, NULL));
		for (size_t i = 0; i < N_ELEMS(never_families); i++) {
			snprintf(what, sizeof(what), "socket(%s) net proxy%s", never_families[i].name, v);
			expect_errno(what, run_probe_flags(AB_NET_PROXY, flags, probe_socket,
							   &never_families[i].domain),
				     EPERM);
		}
	}
	expect_success("socket(AF_UNIX) net proxy", run_socket(AB_NET_PROXY, AF_UNIX));
	expect_errno("socket(AF_UNIX) net proxy, no netns",
		     run_probe_flags(AB_NET_PROXY, NO_NETNS, probe_socket, &(long){AF_UNIX}), EPERM);
	expect_errno("ptrace net proxy",
		     run_raw(AB_NET_PROXY, __NR_ptrace, 0x4206, 0, 0), EPERM);
}

enum sock_op { OP_CONNECT, OP_SENDTO, OP_GETSOCKOPT };

static long probe_unix_socket_op(const void *arg)
{
	enum sock_op op = *(const enum sock_op *)arg;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return -3;
	switch (op) {
	case OP_CONNECT: {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		strcpy(sa.sun_path, "/nonexistent/agentbox-test.sock");
		if (fd < 0)
			return -3;
		return syscall(__NR_connect, fd, &sa, sizeof(sa));
	}
	case OP_SENDTO:
		return syscall(__NR_sendto, sv[0], "x", 1, 0, NULL, 0);
	case OP_GETSOCKOPT: {
		int type = 0;
		socklen_t len = sizeof(type);
		long r = syscall(__NR_getsockopt, sv[0], SOL_SOCKET, SO_TYPE, &type, &len);
		return r == 0 && type != SOCK_STREAM ? -4 : r;
	}
	}
	return -3;
}

static void test_unix_socket_traffic_calls_fail_with_eperm_without_network(void **state)
{
	enum sock_op op = OP_CONNECT;
	expect_errno("connect no netns",
		     run_probe_flags(AB_NET_NONE, NO_NETNS, probe_unix_socket_op, &op), EPERM);
	/* ENOENT: the kernel looked the path up, the filter let it through */
	expect_errno("connect net none", run_probe(AB_NET_NONE, probe_unix_socket_op, &op),
		     ENOENT);
	expect_errno("connect net full", run_probe(AB_NET_FULL, probe_unix_socket_op, &op),
		     ENOENT);
	op = OP_SENDTO;
	expect_errno("sendto no netns",
		     run_probe_flags(AB_NET_NONE, NO_NETNS, probe_unix_socket_op, &op), EPERM);
	expect_success("sendto net none", run_probe(AB_NET_NONE, probe_unix_socket_op, &op));
	expect_success("sendto net full", run_probe(AB_NET_FULL, probe_unix_socket_op, &op));
	op = OP_GETSOCKOPT;
	expect_errno("getsockopt no netns",
		     run_probe_flags(AB_NET_NONE, NO_NETNS, probe_unix_socket_op, &op), EPERM);
	expect_success("getsockopt net full",
		       run_probe(AB_NET_FULL, probe_unix_socket_op, &op));
}

/* ---- other ABIs ------------------------------------------------------- */

#if defined(__x86_64__)
static void test_x32_syscalls_are_killed(void **state)
{
	struct outcome o;

	/* unfiltered: the kernel either runs it (x32 enabled) or says ENOSYS,
	 * unless a seccomp filter this process inherited (systemd's
	 * SystemCallArchitectures=native, a container's profile) kills it */
	o = run_raw(NO_FILTER, X32_SYSCALL_BIT | __NR_getpid, 0, 0, 0);
	bool host_kills = killed_by(o, SIGSYS);
	if (!host_kills && !succeeded(o) && !failed_with(o, ENOSYS))
		fail_msg("x32 getpid without the filter: expected the pid or ENOSYS, got "
			 "%s ret=%ld errno=%d status=%#x",
			 o.returned ? "returned" : "died", o.ret, o.err, o.status);

	expect_killed_by("x32 getpid (net none)",
			 run_raw(AB_NET_NONE, X32_SYSCALL_BIT | __NR_getpid, 0, 0, 0),
			 SIGSYS);
	expect_killed_by("x32 getpid (net full)",
			 run_raw(AB_NET_FULL, X32_SYSCALL_BIT | __NR_getpid, 0, 0, 0),
			 SIGSYS);
	/* x32 numbers for calls the native filter denies must not slip by */
	expect_killed_by("x32 socket",
			 run_raw(AB_NET_NONE, X32_SYSCALL_BIT | __NR_socket, AF_INET,
				 SOCK_STREAM, 0),
			 SIGSYS);
	if (host_kills) {
		print_message("skipped: not available: x32 calls are killed here without "
			      "agentbox's filter too (an inherited seccomp filter), so "
			      "the kills above are not shown to be the filter's\n");
		skip();
	}
}

static void *x32_getpid_thread(void *arg)
{
	*(long *)arg = syscall(X32_SYSCALL_BIT | __NR_getpid);
	return NULL;
}

/* Run from a second thread: KILL_THREAD would end only that thread and the
 * probe would report back; KILL_PROCESS must take the whole process. */
static long probe_x32_from_thread(const void *arg)
{
	pthread_t t;
	long r = 0;
	if (pthread_create(&t, NULL, x32_getpid_thread, &r) != 0)
		return -3;
	pthread_join(t, NULL);
	return r;
}

static void test_bad_abi_kills_the_whole_process(void **state)
{
	expect_killed_by("x32 getpid from a thread",
			 run_probe(AB_NET_NONE, probe_x32_from_thread, NULL), SIGSYS);
}

static long probe_int80_getpid(const void *arg)
{
	long ret = 20; /* __NR_getpid in the i386 table */
	__asm__ volatile("int $0x80"
			 : "+a"(ret)
			 :
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

/* Vector 0x81 has no gate user space may call on any x86_64 kernel: the
 * CPU raises #GP and the kernel SIGSEGV, before any system call starts,
 * which is exactly what int 0x80 does on a kernel without ia32 emulation. */
static long probe_int81(const void *arg)
{
	(void)arg;
	long ret = 20;
	__asm__ volatile("int $0x81"
			 : "+a"(ret)
			 :
			 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

enum int_gate {
	GATE_KILLED,  /* the kernel ran i386 calls; the filter killed this one */
	GATE_ABSENT,  /* no such gate: SIGSEGV with and without the filter */
	GATE_REFUSED, /* killed without the filter too: an inherited filter */
};

/* Runs the software-interrupt probe `fn` without and with the filter. The
 * call returning under the filter fails the test whatever the kernel, and
 * so does anything but the outcomes above. */
static enum int_gate int_gate_outcome(const char *what, probe_fn fn)
{
	struct outcome base = run_probe(NO_FILTER, fn, NULL);
	struct outcome o = run_probe(AB_NET_NONE, fn, NULL);

	if (o.returned)
		fail_msg("%s returned %ld under the filter (unfiltered: %s ret=%ld "
			 "status=%#x): an i386 system call got past seccomp",
			 what, o.ret, base.returned ? "returned" : "died", base.ret,
			 base.status);
	if (succeeded(base)) {
		expect_killed_by(what, o, SIGSYS);
		return GATE_KILLED;
	}
	if (killed_by(base, SIGSEGV) && killed_by(o, SIGSEGV))
		return GATE_ABSENT;
	if (killed_by(base, SIGSYS) && killed_by(o, SIGSYS))
		return GATE_REFUSED;
	fail_msg("%s: expected death by SIGSYS under the filter, or the same death "
		 "with and without it (SIGSEGV: no gate; SIGSYS: an inherited "
		 "filter); got status=%#x under the filter, unfiltered %s ret=%ld "
		 "status=%#x",
		 what, o.status, base.returned ? "returned" : "died", base.ret,
		 base.status);
	return GATE_KILLED; /* not reached: fail_msg does not return */
}

/* Where the kernel runs i386 system calls the filter must kill a process
 * that makes one, as for any foreign ABI. Where it has no ia32 emulation
 * (CONFIG_IA32_EMULATION=n, ia32_emulation=0 on the command line), int
 * 0x80 has no gate: seccomp is never asked, and the test says "not
 * available" instead of failing; so it does where a filter this process
 * inherited kills i386 calls already. */
static void test_i386_int80_calls_are_killed(void **state)
{
	(void)state;
	switch (int_gate_outcome("int 0x80 getpid", probe_int80_getpid)) {
	case GATE_KILLED:
		return;
	case GATE_ABSENT:
		print_message("skipped: not available: int 0x80 raises SIGSEGV here even "
			      "without the filter (the kernel has no ia32 emulation), so "
			      "there is no i386 system call for the filter to kill\n");
		break;
	case GATE_REFUSED:
		print_message("skipped: not available: int 0x80 is killed by SIGSYS here "
			      "without agentbox's filter too (an inherited seccomp "
			      "filter), so the kill is not shown to be the filter's\n");
		break;
	}
	skip();
}

/* The no-ia32 case above, on any x86_64 kernel: the probe children die of
 * the fault (they do not run on inside cmocka's handler) and the outcome
 * is "no gate", not a failure. */
static void test_int_without_gate_is_told_apart_from_a_filter_kill(void **state)
{
	(void)state;
	assert_int_equal(int_gate_outcome("int 0x81", probe_int81), GATE_ABSENT);
}
#endif

/* ---- install and dump ------------------------------------------------- */

static int install_without_no_new_privs(void *arg)
{
	(void)arg;
	ab_error err;
	int r = seccomp_install(AB_NET_NONE, 0, &err);
	return r == -EPERM && strstr(err.message, "no_new_privs") ? 0 : 1;
}

static void test_install_refuses_without_no_new_privs(void **state)
{
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1) {
		print_message("skipped: no_new_privs is already set (inherited), and it "
			      "cannot be cleared\n");
		skip();
	}
	int status = probe_child_run(install_without_no_new_privs, NULL);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static char *dump_to_string(ab_net net)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	ab_error err;
	assert_int_equal(seccomp_dump(net, 0, f, &err), 0);
	long len = lseek(fileno(f), 0, SEEK_END);
	assert_true(len > 0);
	char *s = calloc(1, (size_t)len + 1);
	assert_non_null(s);
	assert_int_equal(pread(fileno(f), s, (size_t)len, 0), len);
	fclose(f);
	return s;
}

static void test_dump_writes_the_filter(void **state)
{
	char *none = dump_to_string(AB_NET_NONE);
	char *full = dump_to_string(AB_NET_FULL);

	assert_non_null(strstr(none, "\"ptrace\""));
	assert_non_null(strstr(none, "\"clone3\""));
	assert_non_null(strstr(none, "\"socket\""));
	assert_non_null(strstr(none, "KILL_PROCESS"));
	assert_non_null(strstr(full, "\"ptrace\""));
	assert_null(strstr(full, "\"connect\""));
	assert_null(strstr(full, "\"socket\""));
	free(none);
	free(full);
}

/* The filter compiled in at build time must be exactly what libseccomp
 * builds now: a stale or mis-generated program would silently change what
 * the sandbox allows. */
static void test_prebuilt_filter_matches_libseccomp(void **state)
{
	(void)state;
	for (unsigned flags = 0; flags < AB_SECCOMP_VARIANTS; flags++)
	for (int net = AB_NET_NONE; net <= AB_NET_PROXY; net++) {
		ab_error err = {0};
		int fd = memfd_create("bpf", MFD_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(seccomp_export_bpf_fd((ab_net)net, flags, fd, &err), 0);
		off_t len = lseek(fd, 0, SEEK_END);
		assert_true(len > 0);
		unsigned char *now = malloc((size_t)len);
		assert_non_null(now);
		assert_int_equal(pread(fd, now, (size_t)len, 0), len);
		close(fd);
		size_t built_len = 0;
		const void *built = seccomp_prebuilt_program((ab_net)net, flags, &built_len);
		assert_int_equal(built_len, (size_t)len);
		assert_memory_equal(built, now, built_len);
		free(now);
	}
}

/* ---- System V IPC (the Landlock backend's variant) -------------------- */

static long probe_shmget(const void *arg)
{
	(void)arg;
	long id = syscall(__NR_shmget, IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	if (id >= 0)
		syscall(__NR_shmctl, id, IPC_RMID, NULL); /* leave nothing behind */
	return id;
}

struct ipc_call {
	const char *name;
	long nr;
};

/* Without an IPC namespace (AB_SECCOMP_NO_SYSV_IPC) every System V IPC
 * call is refused; the namespace backends' filter leaves them alone. */
static void test_sysv_ipc_refused_only_in_the_no_ipc_namespace_variant(void **state)
{
	(void)state;
	for (int net = AB_NET_NONE; net <= AB_NET_FULL; net++) {
		expect_errno("shmget, no-IPC-namespace variant",
			     run_probe_flags(net, AB_SECCOMP_NO_SYSV_IPC, probe_shmget, NULL), EPERM);
		expect_success("shmget, namespace backends' filter",
			       run_probe_flags(net, 0, probe_shmget, NULL));
	}
	static const struct ipc_call calls[] = {
		{"shmat", __NR_shmat}, {"shmctl", __NR_shmctl}, {"shmdt", __NR_shmdt},
		{"semget", __NR_semget}, {"semop", __NR_semop}, {"semtimedop", __NR_semtimedop},
		{"semctl", __NR_semctl}, {"msgget", __NR_msgget}, {"msgsnd", __NR_msgsnd},
		{"msgrcv", __NR_msgrcv}, {"msgctl", __NR_msgctl},
	};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		/* arguments that fail with anything but EPERM without the
		 * filter: an EPERM here is the filter's */
		struct outcome o = run_probe_flags(AB_NET_FULL, AB_SECCOMP_NO_SYSV_IPC, probe_raw,
						   &(struct raw_call){calls[i].name, calls[i].nr,
								      {-1, 0, 0, 0, 0, 0}});
		expect_errno(calls[i].name, o, EPERM);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dangerous_calls_fail_with_eperm_in_both_network_modes),
		cmocka_unit_test(test_sysv_ipc_refused_only_in_the_no_ipc_namespace_variant),
		cmocka_unit_test(test_socket_calls_fail_with_eperm_only_without_network_namespace),
		cmocka_unit_test(test_unshare_newuser_is_denied),
		cmocka_unit_test(test_unshare_without_newuser_is_allowed),
		cmocka_unit_test(test_clone_newuser_is_denied),
		cmocka_unit_test(test_plain_fork_is_allowed),
		cmocka_unit_test(test_clone3_fails_with_enosys),
		cmocka_unit_test(test_posix_spawn_falls_back_from_clone3),
		cmocka_unit_test(test_tiocsti_is_denied_even_with_high_bits_set),
		cmocka_unit_test(test_tioclinux_is_denied),
		cmocka_unit_test(test_unrelated_ioctl_is_allowed),
		cmocka_unit_test(test_unix_sockets_are_allowed_without_network),
		cmocka_unit_test(test_socketpair_is_allowed_without_network),
		cmocka_unit_test(test_none_with_own_netns_allows_unix_and_ip_sockets_only),
		cmocka_unit_test(test_other_socket_domains_fail_with_eperm_without_network_namespace),
		cmocka_unit_test(test_full_network_allows_inet_but_keeps_other_rules),
		cmocka_unit_test(test_proxy_network_allows_only_ip_sockets_and_socketpair),
		cmocka_unit_test(test_unix_socket_traffic_calls_fail_with_eperm_without_network),
#if defined(__x86_64__)
		cmocka_unit_test(test_x32_syscalls_are_killed),
		cmocka_unit_test(test_bad_abi_kills_the_whole_process),
		cmocka_unit_test(test_i386_int80_calls_are_killed),
		cmocka_unit_test(test_int_without_gate_is_told_apart_from_a_filter_kill),
#endif
		cmocka_unit_test(test_install_refuses_without_no_new_privs),
		cmocka_unit_test(test_dump_writes_the_filter),
		cmocka_unit_test(test_prebuilt_filter_matches_libseccomp),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
