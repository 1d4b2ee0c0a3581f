/* The notifying filter (see seccomp_notify.h), written as raw BPF: it is
 * tiny, and the inner stage must not allocate (inner.c says why).
 *
 * Its result only matters where the main filter allows the call: the
 * kernel runs every filter and the most severe action wins, and ERRNO
 * (the main filter's set-user-ID rules, for one) ranks above USER_NOTIF.
 * Other architectures pass: the main filter kills them. */
#include "inner/seccomp_notify.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define NATIVE_ARCH AUDIT_ARCH_I386
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_ARCH AUDIT_ARCH_RISCV64
#else
#error "seccomp_notify.c: add this architecture's AUDIT_ARCH value"
#endif

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif

/* Calls numbered from 424 on are the same on every architecture. */
#define NR_FCHMODAT2 452
#define NR_SETXATTRAT 463
#define NR_REMOVEXATTRAT 466
#define NR_FILE_SETATTR 469

static const int notified[] = {
#ifdef SYS_chmod
	SYS_chmod,
#endif
	SYS_fchmod, SYS_fchmodat, NR_FCHMODAT2,
#ifdef SYS_chown
	SYS_chown,
#endif
#ifdef SYS_lchown
	SYS_lchown,
#endif
	SYS_fchown, SYS_fchownat,
#ifdef SYS_utime
	SYS_utime,
#endif
#ifdef SYS_utimes
	SYS_utimes,
#endif
#ifdef SYS_futimesat
	SYS_futimesat,
#endif
	SYS_utimensat,
	SYS_setxattr, SYS_lsetxattr, SYS_fsetxattr,
	SYS_removexattr, SYS_lremovexattr, SYS_fremovexattr,
};

/* Calls that carry their arguments in a struct the broker does not read
 * yet: ENOSYS, so that libc falls back to the calls above. */
static const int unsupported[] = { NR_SETXATTRAT, NR_REMOVEXATTRAT, NR_FILE_SETATTR };

#define N_NOTIFIED (sizeof(notified) / sizeof(notified[0]))
#define N_UNSUPPORTED (sizeof(unsupported) / sizeof(unsupported[0]))
/* arch load, arch test, nr load, one test per call, four returns */
#define PROG_MAX (3 + N_NOTIFIED + N_UNSUPPORTED + 4)

const int *seccomp_notify_calls(size_t *n_out)
{
	*n_out = N_NOTIFIED;
	return notified;
}

/* `action` for the notified calls: USER_NOTIF, or ERRNO(EPERM) on a
 * kernel without notifications. */
static unsigned build(struct sock_filter *p, unsigned action)
{
	unsigned n = 0;
	const unsigned ret_allow_from_arch = 1 + N_NOTIFIED + N_UNSUPPORTED;
	p[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	/* not native: jump to the final ALLOW */
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0, ret_allow_from_arch);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	/* after the tests: [ALLOW][ACTION][ENOSYS] */
	for (size_t i = 0; i < N_NOTIFIED; i++) {
		unsigned to_action = (unsigned)(N_NOTIFIED - i - 1 + N_UNSUPPORTED + 1);
		p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)notified[i], to_action, 0);
	}
	for (size_t i = 0; i < N_UNSUPPORTED; i++) {
		unsigned to_enosys = (unsigned)(N_UNSUPPORTED - i - 1 + 2);
		p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)unsupported[i], to_enosys, 0);
	}
	p[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
	return n;
}

static int send_fd(int sock, int fd)
{
	char data = 'L';
	struct iovec iov = {.iov_base = &data, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t r;
	do
		r = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

int seccomp_notify_install(int sock, bool *notify, ab_error *err)
{
	struct sock_filter prog[PROG_MAX];
	struct sock_fprog fp = {.filter = prog};
	*notify = false;
	fp.len = (unsigned short)build(prog, SECCOMP_RET_USER_NOTIF);
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
	if (fd < 0 && errno != EINVAL)
		return ab_fail_errno(err, errno, "seccomp: cannot install the filter that sends mode, owner, time and xattr changes to agentbox's broker");
	if (fd < 0) {
		/* no user notifications: refuse those calls outright */
		fp.len = (unsigned short)build(prog, SECCOMP_RET_ERRNO | EPERM);
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
			return ab_fail_errno(err, errno, "seccomp: cannot install the filter that refuses mode, owner, time and xattr changes");
		/* tell the broker there is no listener: an empty message */
		char none = 'N';
		ssize_t w = send(sock, &none, 1, MSG_NOSIGNAL);
		(void)w;
		return 0;
	}
	*notify = true;
	int e = send_fd(sock, (int)fd) < 0 ? errno : 0;
	close((int)fd);
	if (e)
		return ab_fail_errno(err, e, "seccomp: cannot hand the notification listener to agentbox's broker (sendmsg)");
	return 0;
}
