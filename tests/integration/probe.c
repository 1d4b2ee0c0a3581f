/*
 * probe - perform one raw system call and report how the kernel answered.
 *
 *   probe NAME...   for each NAME: run the call in a fresh child process and
 *                   print "NAME ok" or "NAME <ERRNO-NAME>" (e.g. "EPERM")
 *   probe list      print every known NAME, one per line
 *   probe all       same as "probe $(probe list)"
 *
 * Arguments are chosen so that the call is harmless and, where possible, so
 * that the kernel itself would answer with something other than EPERM
 * (invalid fds, NULL pointers, bad flags): a seccomp filter decides before
 * the kernel validates anything, so EPERM here means "the filter said no".
 * Every call runs in its own child so that one that succeeds (unshare,
 * clone) cannot change the conditions of the next.  Exit status is 0 when
 * every NAME was known, 2 otherwise.  Standalone: libc only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWUSER
#define CLONE_NEWUSER 0x10000000
#endif
#ifndef TIOCSTI
#define TIOCSTI 0x5412
#endif
#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW 0xaa00
#endif
#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef ADDR_NO_RANDOMIZE
#define ADDR_NO_RANDOMIZE 0x0040000
#endif

/* A path under a directory that does not exist: a call on it that the
 * filter lets through fails with ENOENT, so EPERM is the filter's. */
#define MISSING "/nonexistent-agentbox-probe/x"

/* A pid no live process can have: pid_max is at most 4194304. */
#define NO_SUCH_PID 0x3ffffff0L

/* Sets the upper 32 bits of an ioctl request: the kernel truncates the
 * request to 32 bits, so a filter that compares all 64 bits would miss it. */
#define HIGH_BITS 0x100000000UL

static long unix_socket(void)
{
	return syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
}

/* An abstract name nobody listens on: connect gives ECONNREFUSED, bind
 * succeeds, unless a filter refuses first. */
static socklen_t abstract_addr(struct sockaddr_un *sun)
{
	static const char name[] = "agentbox-probe-unused";

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path + 1, name, sizeof(name) - 1);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   sizeof(name) - 1);
}

static long do_connect_unix(void)
{
	struct sockaddr_un sun;
	socklen_t len = abstract_addr(&sun);
	long fd = unix_socket();

	if (fd < 0)
		return fd;
	return syscall(SYS_connect, fd, &sun, len);
}

static long do_bind_unix(void)
{
	struct sockaddr_un sun;
	socklen_t len = abstract_addr(&sun);
	long fd = unix_socket();

	if (fd < 0)
		return fd;
	return syscall(SYS_bind, fd, &sun, len);
}

static long do_listen_unix(void)
{
	long fd = unix_socket();

	if (fd < 0)
		return fd;
	return syscall(SYS_listen, fd, 1);
}

static long do_getsockopt_unix(void)
{
	int val = 0;
	socklen_t len = sizeof(val);
	long fd = unix_socket();

	if (fd < 0)
		return fd;
	return syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &val, &len);
}

static long do_socketpair_unix(void)
{
	int sv[2];

	return syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv);
}

static long pair_of(int type)
{
	int sv[2];

	return syscall(SYS_socketpair, AF_UNIX, type, 0, sv);
}

/* openat2 with O_CREAT and a setuid mode in its struct open_how. */
static long do_openat2_creat_setuid(void)
{
	unsigned long long how[3] = { O_CREAT | O_WRONLY, 04755, 0 };

	return syscall(SYS_openat2, AT_FDCWD, MISSING, how, sizeof(how));
}

/* Like fork(): no new stack, SIGCHLD on exit; the child leaves at once. */
static long do_clone_newuser(void)
{
	long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD),
			   0UL, 0UL, 0UL, 0UL);

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return pid < 0 ? pid : 0;
}

/* size 0 is below CLONE_ARGS_SIZE_VER0: the kernel says EINVAL. */
static long do_clone3(void)
{
#ifdef SYS_clone3
	return syscall(SYS_clone3, NULL, 0UL);
#else
	errno = ENOSYS;
	return -1;
#endif
}

struct probe {
	const char *name;
	long (*fn)(void);
};

#define P(NAME, EXPR) \
	static long do_##NAME(void) { return (EXPR); }
P(getpid, syscall(SYS_getpid))
P(socket_unix, unix_socket())
P(socket_inet, syscall(SYS_socket, AF_INET, SOCK_STREAM, 0))
P(socket_inet6, syscall(SYS_socket, AF_INET6, SOCK_STREAM, 0))
P(socket_netlink, syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0))
P(connect, syscall(SYS_connect, -1, NULL, 0))
P(bind, syscall(SYS_bind, -1, NULL, 0))
P(listen, syscall(SYS_listen, -1, 0))
P(accept, syscall(SYS_accept, -1, NULL, NULL))
P(accept4, syscall(SYS_accept4, -1, NULL, NULL, 0))
P(sendto, syscall(SYS_sendto, -1, NULL, 0, 0, NULL, 0))
P(sendmmsg, syscall(SYS_sendmmsg, -1, NULL, 0, 0))
P(recvmmsg, syscall(SYS_recvmmsg, -1, NULL, 0, 0, NULL))
P(getsockopt, syscall(SYS_getsockopt, -1, 0, 0, NULL, NULL))
P(setsockopt, syscall(SYS_setsockopt, -1, 0, 0, NULL, 0))
P(getpeername, syscall(SYS_getpeername, -1, NULL, NULL))
P(getsockname, syscall(SYS_getsockname, -1, NULL, NULL))
P(shutdown, syscall(SYS_shutdown, -1, 0))
P(io_uring_setup, syscall(SYS_io_uring_setup, 0, NULL))
P(ptrace, syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, NO_SUCH_PID, 0, 0))
P(process_vm_readv, syscall(SYS_process_vm_readv, NO_SUCH_PID, NULL, 0, NULL, 0, 1))
P(process_vm_writev, syscall(SYS_process_vm_writev, NO_SUCH_PID, NULL, 0, NULL, 0, 1))
P(keyctl, syscall(SYS_keyctl, 9999, 0, 0, 0, 0))
P(add_key, syscall(SYS_add_key, NULL, NULL, NULL, 0, 0))
P(request_key, syscall(SYS_request_key, NULL, NULL, NULL, 0))
P(bpf, syscall(SYS_bpf, 9999, NULL, 0))
P(perf_event_open, syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0))
P(mount, syscall(SYS_mount, NULL, NULL, NULL, 0, NULL))
P(umount2, syscall(SYS_umount2, NULL, 0xffff))
P(pivot_root, syscall(SYS_pivot_root, NULL, NULL))
P(fsopen, syscall(SYS_fsopen, NULL, 0xffff))
P(fsmount, syscall(SYS_fsmount, -1, 0xffff, 0))
P(fspick, syscall(SYS_fspick, -1, NULL, 0xffff))
P(fsconfig, syscall(SYS_fsconfig, -1, 9999, NULL, NULL, 0))
P(move_mount, syscall(SYS_move_mount, -1, NULL, -1, NULL, 0xffffffffUL))
P(open_tree, syscall(SYS_open_tree, -1, NULL, 0xffffffffUL))
P(mount_setattr, syscall(SYS_mount_setattr, -1, NULL, 0xffffffffUL, NULL, 0))
P(open_by_handle_at, syscall(SYS_open_by_handle_at, -1, NULL, 0))
P(unshare_newuser, syscall(SYS_unshare, CLONE_NEWUSER))
P(ioctl_tiocsti, syscall(SYS_ioctl, -1, (unsigned long)TIOCSTI, NULL))
P(ioctl_tiocsti_hi, syscall(SYS_ioctl, -1, HIGH_BITS | TIOCSTI, NULL))
P(ioctl_tioclinux, syscall(SYS_ioctl, -1, (unsigned long)TIOCLINUX, NULL))
P(ioctl_tioclinux_hi, syscall(SYS_ioctl, -1, HIGH_BITS | TIOCLINUX, NULL))
/* unix sockets by type: datagrams could be addressed to a host path */
P(socket_unix_dgram, syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0))
P(socket_unix_raw, syscall(SYS_socket, AF_UNIX, SOCK_RAW, 0))
P(socket_unix_seqpacket, syscall(SYS_socket, AF_UNIX, SOCK_SEQPACKET, 0))
P(socketpair_unix_dgram, pair_of(SOCK_DGRAM))
P(socketpair_unix_dgram_nonblock, pair_of(SOCK_DGRAM | SOCK_NONBLOCK))
P(socketpair_unix_seqpacket, pair_of(SOCK_SEQPACKET))
/* hardening */
P(userfaultfd, syscall(SYS_userfaultfd, O_CLOEXEC))
P(ioctl_userfaultfd_new, syscall(SYS_ioctl, -1, (unsigned long)USERFAULTFD_IOC_NEW, 0))
P(memfd_secret, syscall(SYS_memfd_secret, 0))
P(personality_query, syscall(SYS_personality, 0xffffffffUL))
P(personality_linux, syscall(SYS_personality, 0UL))
P(personality_addr_no_randomize, syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE))
/* modes: set-user-ID/set-group-ID bits and device nodes */
#ifdef SYS_chmod
P(chmod_setuid, syscall(SYS_chmod, MISSING, 04755))
#else
P(chmod_setuid, syscall(SYS_fchmodat, AT_FDCWD, MISSING, 04755))
#endif
P(chmod_plain, syscall(SYS_fchmodat, AT_FDCWD, MISSING, 0755))
P(fchmod_setgid, syscall(SYS_fchmod, -1, 02755))
P(fchmodat_setuid, syscall(SYS_fchmodat, AT_FDCWD, MISSING, 04711))
P(fchmodat2_setgid, syscall(SYS_fchmodat2, AT_FDCWD, MISSING, 02770, 0))
P(openat_creat_setuid, syscall(SYS_openat, AT_FDCWD, MISSING, O_CREAT | O_WRONLY, 04755))
P(openat_tmpfile_setgid, syscall(SYS_openat, AT_FDCWD, MISSING, O_TMPFILE | O_RDWR, 02755))
P(openat_creat_plain, syscall(SYS_openat, AT_FDCWD, MISSING, O_CREAT | O_WRONLY, 0755))
P(mkdirat_setgid, syscall(SYS_mkdirat, AT_FDCWD, MISSING, 02755))
P(mknodat_setuid, syscall(SYS_mknodat, AT_FDCWD, MISSING, S_IFREG | 04755, 0))
P(mknodat_chr, syscall(SYS_mknodat, AT_FDCWD, MISSING, S_IFCHR | 0666, 0x103))
P(mknodat_blk, syscall(SYS_mknodat, AT_FDCWD, MISSING, S_IFBLK | 0600, 0x800))
P(mknodat_fifo, syscall(SYS_mknodat, AT_FDCWD, MISSING, S_IFIFO | 0600, 0))
#undef P

#define E(NAME) { #NAME, do_##NAME }
static const struct probe probes[] = {
	E(getpid), E(socket_unix), E(socket_inet), E(socket_inet6),
	E(socket_netlink), E(socketpair_unix), E(connect), E(bind), E(listen),
	E(accept), E(accept4), E(sendto), E(sendmmsg), E(recvmmsg),
	E(getsockopt), E(setsockopt), E(getpeername), E(getsockname),
	E(shutdown), E(connect_unix), E(bind_unix), E(listen_unix),
	E(getsockopt_unix), E(io_uring_setup), E(ptrace), E(process_vm_readv),
	E(process_vm_writev), E(keyctl), E(add_key), E(request_key), E(bpf),
	E(perf_event_open), E(mount), E(umount2), E(pivot_root), E(fsopen),
	E(fsmount), E(fspick), E(fsconfig), E(move_mount), E(open_tree),
	E(mount_setattr), E(open_by_handle_at), E(unshare_newuser),
	E(clone_newuser), E(clone3), E(ioctl_tiocsti), E(ioctl_tiocsti_hi),
	E(ioctl_tioclinux), E(ioctl_tioclinux_hi), E(socket_unix_dgram),
	E(socket_unix_raw), E(socket_unix_seqpacket), E(socketpair_unix_dgram),
	E(socketpair_unix_dgram_nonblock), E(socketpair_unix_seqpacket),
	E(userfaultfd), E(ioctl_userfaultfd_new), E(memfd_secret),
	E(personality_query), E(personality_linux),
	E(personality_addr_no_randomize), E(chmod_setuid), E(chmod_plain),
	E(fchmod_setgid), E(fchmodat_setuid), E(fchmodat2_setgid),
	E(openat_creat_setuid), E(openat_tmpfile_setgid), E(openat_creat_plain),
	E(openat2_creat_setuid), E(mkdirat_setgid), E(mknodat_setuid),
	E(mknodat_chr), E(mknodat_blk), E(mknodat_fifo),
};
#undef E

#define N_PROBES (sizeof(probes) / sizeof(probes[0]))

static const struct probe *find_probe(const char *name)
{
	for (size_t i = 0; i < N_PROBES; i++)
		if (strcmp(probes[i].name, name) == 0)
			return &probes[i];
	return NULL;
}

/* Runs the call in a child so that its side effects die with it. */
static int run_probe(const struct probe *p)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "probe: fork for %s: %s\n", p->name, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		long ret;
		const char *what;

		errno = 0;
		ret = p->fn();
		if (ret >= 0) {
			what = "ok";
		} else {
			what = strerrorname_np(errno);
			if (!what)
				what = "EUNKNOWN";
		}
		printf("%s %s\n", p->name, what);
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0) {
		fprintf(stderr, "probe: waitpid for %s: %s\n", p->name, strerror(errno));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* Killed (e.g. SECCOMP_RET_KILL) instead of an errno: report it. */
		printf("%s killed:%d\n", p->name,
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: probe NAME... | probe list | probe all\n");
		return 2;
	}
	if (strcmp(argv[1], "list") == 0) {
		for (size_t i = 0; i < N_PROBES; i++)
			printf("%s\n", probes[i].name);
		return 0;
	}
	if (strcmp(argv[1], "all") == 0) {
		for (size_t i = 0; i < N_PROBES; i++)
			if (run_probe(&probes[i]) < 0)
				rc = 1;
		return rc;
	}
	for (int i = 1; i < argc; i++) {
		const struct probe *p = find_probe(argv[i]);

		if (!p) {
			fprintf(stderr, "probe: unknown name '%s' (see 'probe list')\n",
				argv[i]);
			rc = 2;
			continue;
		}
		if (run_probe(p) < 0)
			rc = 1;
	}
	return rc;
}
