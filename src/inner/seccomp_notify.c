/* The notifying filter (see seccomp_notify.h), written as raw BPF: it is
 * tiny, and the inner stage must not allocate (inner.c says why).
 *
 * Its result only matters where the main filter allows the call: the
 * kernel runs every filter and the most severe action wins, and ERRNO
 * (the main filter's set-user-ID rules, for one) ranks above USER_NOTIF.
 * Other architectures pass: the main filter kills them. */
#include "inner/seccomp_notify.h"

#include <errno.h>
#include <fcntl.h>
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
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif

/* Calls numbered from 424 on are the same on every architecture. */
#define NR_FCHMODAT2 452
#define NR_SETXATTRAT 463
#define NR_REMOVEXATTRAT 466
#define NR_FILE_SETATTR 469

/* Metadata calls: the broker performs them only within the writable
 * roots (backend/landlock/broker_meta.c). */
static const int meta_calls[] = {
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

/* Creating, removing and renaming: the broker performs them where the
 * plan makes the whole target writable, which Landlock cannot say in a
 * directory that holds protected names (backend/landlock/broker_fs.c). */
static const int fs_calls[] = {
#ifdef SYS_mkdir
	SYS_mkdir,
#endif
	SYS_mkdirat,
#ifdef SYS_rmdir
	SYS_rmdir,
#endif
#ifdef SYS_unlink
	SYS_unlink,
#endif
	SYS_unlinkat,
#ifdef SYS_rename
	SYS_rename,
#endif
#ifdef SYS_renameat
	SYS_renameat,
#endif
	SYS_renameat2,
#ifdef SYS_symlink
	SYS_symlink,
#endif
	SYS_symlinkat,
#ifdef SYS_link
	SYS_link,
#endif
	SYS_linkat,
#ifdef SYS_mknod
	SYS_mknod,
#endif
	SYS_mknodat,
#ifdef SYS_creat
	SYS_creat,
#endif
};

/* Opening calls, sent only when their flags (argument `arg`) create. */
struct cond_call {
	int nr;
	unsigned arg;
};
static const struct cond_call create_calls[] = {
#ifdef SYS_open
	{SYS_open, 1},
#endif
	{SYS_openat, 2},
};

/* Calls that carry their arguments in a struct the broker does not read
 * yet: ENOSYS, so that libc falls back to the calls above. */
static const int unsupported[] = { NR_SETXATTRAT, NR_REMOVEXATTRAT, NR_FILE_SETATTR };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
/* arch load and test, nr load, the tests, three per opening call, four returns */
#define PROG_MAX (3 + COUNT(meta_calls) + COUNT(fs_calls) + COUNT(unsupported) + 3 * COUNT(create_calls) + 4)

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#else
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#endif

size_t seccomp_notify_meta_calls(const int **out)
{
	*out = meta_calls;
	return COUNT(meta_calls);
}

/* The program: `meta` for the metadata calls, `fs` for the others:
 * USER_NOTIF, or ERRNO(EPERM) / ALLOW on a kernel without notifications. */
static unsigned build(struct sock_filter *p, unsigned meta, unsigned fs)
{
	unsigned n = 0;
	const unsigned allow = (unsigned)(3 + COUNT(meta_calls) + COUNT(fs_calls) + COUNT(unsupported) +
					  3 * COUNT(create_calls));
	const unsigned ret_meta = allow + 1, ret_fs = allow + 2, ret_enosys = allow + 3;
	p[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	/* not native: the main filter kills it; nothing to add */
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0, (unsigned char)(allow - 2));
	p[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < COUNT(meta_calls); i++, n++)
		p[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)meta_calls[i],
						    (unsigned char)(ret_meta - n - 1), 0);
	for (size_t i = 0; i < COUNT(fs_calls); i++, n++)
		p[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)fs_calls[i],
						    (unsigned char)(ret_fs - n - 1), 0);
	for (size_t i = 0; i < COUNT(unsupported); i++, n++)
		p[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)unsupported[i],
						    (unsigned char)(ret_enosys - n - 1), 0);
	for (size_t i = 0; i < COUNT(create_calls); i++) {
		/* not this call: skip its two instructions */
		p[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)create_calls[i].nr, 0, 2);
		n++;
		p[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(create_calls[i].arg));
		p[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, O_CREAT,
						    (unsigned char)(ret_fs - n - 1), (unsigned char)(allow - n - 1));
		n++;
	}
	p[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, meta);
	p[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, fs);
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

int seccomp_notify_install(int sock, bool fs, bool *notify, ab_error *err)
{
	struct sock_filter prog[PROG_MAX];
	struct sock_fprog fp = {.filter = prog};
	*notify = false;
	fp.len = (unsigned short)build(prog, SECCOMP_RET_USER_NOTIF,
				       fs ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ALLOW);
	/* SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19): once agentbox has
	 * a call, only a fatal signal ends the caller's wait. Without it a
	 * signal could interrupt a call the broker has already performed:
	 * the caller would see EINTR from mkdir or open (few programs expect
	 * that), or restart it and see EEXIST. Before 5.19 the broker undoes
	 * a creation whose answer could not be delivered (broker.c). */
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			  SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &fp);
	if (fd < 0 && errno == EINVAL)
		fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
	if (fd < 0 && errno != EINVAL)
		return ab_fail_errno(err, errno, "seccomp: cannot install the filter that sends mode, owner, time and xattr changes to agentbox's broker");
	if (fd < 0) {
		/* no user notifications: refuse those calls outright */
		/* no notifications: metadata changes refused outright, and
		 * creation left to Landlock (its narrowing stays) */
		fp.len = (unsigned short)build(prog, SECCOMP_RET_ERRNO | EPERM, SECCOMP_RET_ALLOW);
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
