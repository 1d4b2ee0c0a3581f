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
#include <sys/ioctl.h>
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

#ifndef __O_TMPFILE
#define __O_TMPFILE 020000000
#endif

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

/* Opening calls: sent when their flags (argument `arg`) create, open for
 * writing or truncate (a file made in a narrowed directory gets only that
 * directory's Landlock rights, so reopening it for writing is the
 * broker's too), or make an O_TMPFILE. */
struct cond_call {
	int nr;
	unsigned arg;
};
static const struct cond_call open_calls[] = {
#ifdef SYS_open
	{SYS_open, 1},
#endif
	{SYS_openat, 2},
};
#define OPEN_SENT_FLAGS (O_CREAT | O_WRONLY | O_RDWR | O_TRUNC)

/* Calls that carry their arguments in a struct the broker does not read
 * yet: ENOSYS, so that libc falls back to the calls above. */
static const int unsupported[] = { NR_SETXATTRAT, NR_REMOVEXATTRAT, NR_FILE_SETATTR };

/* Inode flags (chattr): set through ioctl on any fd the caller owns, even
 * one opened read-only, so they are metadata changes like chmod. The
 * ioctl command is an unsigned int: only the low word counts. */
static const unsigned flag_ioctls[] = {
	0x40086602U, /* FS_IOC_SETFLAGS (long on 64-bit) */
	0x40046602U, /* FS_IOC32_SETFLAGS */
	0x401c5820U, /* FS_IOC_FSSETXATTR */
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define PROG_MAX 128

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

size_t seccomp_notify_flag_ioctls(const unsigned **out)
{
	*out = flag_ioctls;
	return COUNT(flag_ioctls);
}

/* A tiny assembler: jumps name labels, resolved at the end (all forward). */
enum label { L_ALLOW, L_META, L_FS, L_ENOSYS, L_EPERM, L_SETPGID, L_IOCTL, L_OPEN0, L_N = L_OPEN0 + 4 };
struct prog {
	struct sock_filter *p;
	unsigned n;
	int jt[PROG_MAX], jf[PROG_MAX]; /* label, or -1: the next one */
	unsigned at[L_N];
};

static void stmt(struct prog *g, unsigned short code, unsigned k)
{
	g->jt[g->n] = g->jf[g->n] = -1;
	g->p[g->n++] = (struct sock_filter)BPF_STMT(code, k);
}

static void jeq(struct prog *g, unsigned k, int jt, int jf, unsigned short op)
{
	g->jt[g->n] = jt;
	g->jf[g->n] = jf;
	g->p[g->n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | op | BPF_K, k, 0, 0);
}

static void label(struct prog *g, enum label l)
{
	g->at[l] = g->n;
}

static void resolve_jumps(struct prog *g)
{
	for (unsigned i = 0; i < g->n; i++) {
		if (g->jt[i] >= 0)
			g->p[i].jt = (unsigned char)(g->at[g->jt[i]] - i - 1);
		if (g->jf[i] >= 0)
			g->p[i].jf = (unsigned char)(g->at[g->jf[i]] - i - 1);
	}
}

/* The program: `meta` for the metadata calls, `fs` for the others:
 * USER_NOTIF, or ERRNO(EPERM) / ALLOW on a kernel without notifications.
 * With o->pin_pgid, setsid and setpgid into any other group are EPERM. */
static unsigned build(struct sock_filter *p, unsigned meta, unsigned fs, const struct notify_opts *o)
{
	struct prog g = {.p = p};
	stmt(&g, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	/* not native: the main filter kills it; nothing to add */
	jeq(&g, NATIVE_ARCH, -1, L_ALLOW, BPF_JEQ);
	stmt(&g, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < COUNT(meta_calls); i++)
		jeq(&g, (unsigned)meta_calls[i], L_META, -1, BPF_JEQ);
	for (size_t i = 0; i < COUNT(fs_calls); i++)
		jeq(&g, (unsigned)fs_calls[i], L_FS, -1, BPF_JEQ);
	for (size_t i = 0; i < COUNT(unsupported); i++)
		jeq(&g, (unsigned)unsupported[i], L_ENOSYS, -1, BPF_JEQ);
	for (size_t i = 0; i < COUNT(open_calls); i++)
		jeq(&g, (unsigned)open_calls[i].nr, (int)(L_OPEN0 + i), -1, BPF_JEQ);
	jeq(&g, SYS_ioctl, L_IOCTL, -1, BPF_JEQ);
	if (o->pin_pgid > 0) {
		jeq(&g, SYS_setsid, L_EPERM, -1, BPF_JEQ);
		jeq(&g, SYS_setpgid, L_SETPGID, -1, BPF_JEQ);
	}
	stmt(&g, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	/* the argument tests (classic BPF jumps only forward: the returns
	 * come last) */
	for (size_t i = 0; i < COUNT(open_calls); i++) {
		label(&g, (enum label)(L_OPEN0 + i));
		stmt(&g, BPF_LD | BPF_W | BPF_ABS, ARG_LO(open_calls[i].arg));
		jeq(&g, OPEN_SENT_FLAGS | __O_TMPFILE, L_FS, L_ALLOW, BPF_JSET);
	}
	label(&g, L_IOCTL);
	stmt(&g, BPF_LD | BPF_W | BPF_ABS, ARG_LO(1));
	for (size_t i = 0; i < COUNT(flag_ioctls); i++)
		jeq(&g, flag_ioctls[i], L_META, -1, BPF_JEQ);
	stmt(&g, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	/* setpgid(pid, pgid): only into the run's own group (pid_t: the low
	 * word); setpgid(x, 0) would make a group of x's own */
	label(&g, L_SETPGID);
	stmt(&g, BPF_LD | BPF_W | BPF_ABS, ARG_LO(1));
	jeq(&g, (unsigned)o->pin_pgid, L_ALLOW, L_EPERM, BPF_JEQ);
	label(&g, L_ALLOW);
	stmt(&g, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	label(&g, L_META);
	stmt(&g, BPF_RET | BPF_K, meta);
	label(&g, L_FS);
	stmt(&g, BPF_RET | BPF_K, fs);
	label(&g, L_ENOSYS);
	stmt(&g, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
	label(&g, L_EPERM);
	stmt(&g, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	resolve_jumps(&g);
	return g.n;
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

int seccomp_notify_install(int sock, const struct notify_opts *o, bool *notify, ab_error *err)
{
	struct sock_filter prog[PROG_MAX];
	struct sock_fprog fp = {.filter = prog};
	*notify = false;
	fp.len = (unsigned short)build(prog, SECCOMP_RET_USER_NOTIF,
				       o->fs ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ALLOW, o);
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
		fp.len = (unsigned short)build(prog, SECCOMP_RET_ERRNO | EPERM, SECCOMP_RET_ALLOW, o);
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
