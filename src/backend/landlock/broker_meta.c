/* The metadata calls, answered by the broker (broker.h): chmod, chown,
 * utimes, xattr and inode flag (chattr: FS_IOC_SETFLAGS, FSSETXATTR)
 * changes in all their forms. Each one
 *   1. copies its arguments from the caller's memory once,
 *   2. opens the object for itself (O_PATH, following a final symbolic
 *      link only where the call does) relative to the caller's own
 *      working directory or dirfd, through /proc/TID,
 *   3. checks that the caller still waits (so the tid was not recycled),
 *   4. checks by identity that the object lies within a writable root
 *      (broker_ident.c), and
 *   5. performs the change on its own fd, so that nothing the caller
 *      changes afterwards can redirect it.
 * Refusals are EPERM, as a read-only mount gives on the other backends. */
#include "backend/landlock/broker_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#define NR_FCHMODAT2 452
#define XATTR_NAME_LEN 256     /* XATTR_NAME_MAX + 1 */
#define XATTR_VALUE_MAX 65536  /* XATTR_SIZE_MAX */

enum meta_kind { M_CHMOD, M_CHOWN, M_TIMES, M_SETX, M_REMOVEX, M_FLAGS };

struct meta {
	enum meta_kind kind;
	/* the object: fd-relative path, or the fd itself (path NULL) */
	int dirfd;
	bool has_path;
	unsigned long long path_addr;
	bool follow, empty_ok;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool times_now;         /* NULL times: now */
	struct timespec ts[2];
	unsigned long long name_addr, value_addr;
	size_t value_len;
	int xflags;
	unsigned long ioctl_cmd; /* M_FLAGS: its argument is read into `value` */
};

#define FLAGS_ARG_MAX 32 /* struct fsxattr is 28 bytes */

int broker_open_base(const struct broker_call *c, int dirfd)
{
	char p[64];
	if (dirfd == AT_FDCWD)
		snprintf(p, sizeof(p), "/proc/%u/cwd", c->req->pid);
	else if (dirfd >= 0)
		snprintf(p, sizeof(p), "/proc/%u/fd/%d", c->req->pid, dirfd);
	else
		return -EBADF;
	int fd = open(p, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -EBADF : -errno;
	return fd;
}

void broker_own_proc(const struct broker_call *c, const char *path, char *out, size_t len)
{
	static const char *const selfs[] = {"/proc/self", "/proc/thread-self"};
	for (size_t i = 0; i < 2; i++) {
		size_t l = strlen(selfs[i]);
		if (strncmp(path, selfs[i], l) == 0 && (path[l] == '/' || !path[l])) {
			snprintf(out, len, "/proc/%u%s", c->req->pid, path + l);
			return;
		}
	}
	snprintf(out, len, "%s", path);
}

static int open_object(const struct broker_call *c, const struct meta *m)
{
	if (!m->has_path)
		return m->dirfd == AT_FDCWD ? -EBADF : broker_open_base(c, m->dirfd);
	char path[PATH_MAX], fixed[PATH_MAX + 32];
	int r = broker_read_str(c, m->path_addr, path, sizeof(path));
	if (r < 0)
		return r;
	if (!path[0]) {
		if (!m->empty_ok)
			return -ENOENT;
		return broker_open_base(c, m->dirfd);
	}
	int flags = O_PATH | O_CLOEXEC | (m->follow ? 0 : O_NOFOLLOW);
	int fd;
	if (path[0] == '/') {
		broker_own_proc(c, path, fixed, sizeof(fixed));
		fd = open(fixed, flags);
	} else {
		int base = broker_open_base(c, m->dirfd);
		if (base < 0)
			return base;
		fd = openat(base, path, flags);
		int e = errno;
		close(base);
		errno = e;
	}
	return fd < 0 ? -errno : fd;
}

static int perform(int fd, const struct meta *m, const char *name, const void *value)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	int r;
	switch (m->kind) {
	case M_CHMOD:
		r = (int)syscall(NR_FCHMODAT2, fd, "", m->mode, AT_EMPTY_PATH);
		if (r == 0 || (errno != ENOSYS && errno != EINVAL))
			break;
		/* before 6.6: through the magic link, which has no mode of
		 * its own to change for a symbolic link */
		if (S_ISLNK(st.st_mode)) {
			errno = EOPNOTSUPP;
			r = -1;
			break;
		}
		r = chmod(proc, m->mode);
		break;
	case M_CHOWN:
		r = fchownat(fd, "", m->uid, m->gid, AT_EMPTY_PATH);
		break;
	case M_TIMES:
		r = utimensat(fd, "", m->times_now ? NULL : m->ts, AT_EMPTY_PATH);
		break;
	case M_SETX:
	case M_REMOVEX:
		/* user.* xattrs are refused on symbolic links by the kernel,
		 * and others need capabilities the command does not have */
		if (S_ISLNK(st.st_mode)) {
			errno = EPERM;
			r = -1;
			break;
		}
		r = m->kind == M_SETX ? setxattr(proc, name, value, m->value_len, m->xflags)
				      : removexattr(proc, name);
		break;
	case M_FLAGS: {
		/* an ioctl needs an open file: ours, reopened from the object
		 * we decided on (never through a path), regular files and
		 * directories only (what chattr applies to) */
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
			errno = ENOTTY;
			r = -1;
			break;
		}
		int ofd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (ofd < 0) {
			r = -1;
			break;
		}
		r = ioctl(ofd, m->ioctl_cmd, value);
		int e = errno;
		close(ofd);
		errno = e;
		break;
	}
	default:
		errno = ENOSYS;
		r = -1;
	}
	return r < 0 ? -errno : 0;
}

static long long run_meta(const struct broker_call *c, struct meta *m)
{
	char name[XATTR_NAME_LEN];
	static __thread char value[XATTR_VALUE_MAX];
	if (m->kind == M_CHMOD && (m->mode & (S_ISUID | S_ISGID)))
		return -EPERM; /* the same rule as the filter's (seccomp_files.c) */
	if (m->kind == M_SETX || m->kind == M_REMOVEX) {
		int r = broker_read_str(c, m->name_addr, name, sizeof(name));
		if (r < 0)
			return r == -ENAMETOOLONG ? -ERANGE : r;
		if (m->kind == M_SETX) {
			if (m->value_len > sizeof(value))
				return -E2BIG;
			if (m->value_len && broker_read_mem(c, m->value_addr, value, m->value_len) < 0)
				return -EFAULT;
		}
	}
	if (m->kind == M_FLAGS && broker_read_mem(c, m->value_addr, value, m->value_len) < 0)
		return -EFAULT;
	int fd = open_object(c, m);
	if (fd < 0)
		return fd;
	long long ret;
	if (!broker_still_valid(c)) {
		ret = -ESRCH;
	} else {
		int in = broker_in_writable(c->b, fd);
		ret = in < 0 ? -EPERM : in == 0 ? -EPERM : perform(fd, m, name, value);
	}
	close(fd);
	return ret;
}

static int read_times_utime(const struct broker_call *c, unsigned long long addr, struct meta *m)
{
	if (!addr) {
		m->times_now = true;
		return 0;
	}
	struct utimbuf u;
	if (broker_read_mem(c, addr, &u, sizeof(u)) < 0)
		return -EFAULT;
	m->ts[0] = (struct timespec){.tv_sec = u.actime};
	m->ts[1] = (struct timespec){.tv_sec = u.modtime};
	return 0;
}

static int read_times_val(const struct broker_call *c, unsigned long long addr, struct meta *m)
{
	if (!addr) {
		m->times_now = true;
		return 0;
	}
	struct timeval tv[2];
	if (broker_read_mem(c, addr, tv, sizeof(tv)) < 0)
		return -EFAULT;
	for (int i = 0; i < 2; i++) {
		if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
			return -EINVAL;
		m->ts[i] = (struct timespec){.tv_sec = tv[i].tv_sec, .tv_nsec = tv[i].tv_usec * 1000};
	}
	return 0;
}

static int read_times_spec(const struct broker_call *c, unsigned long long addr, struct meta *m)
{
	if (!addr) {
		m->times_now = true;
		return 0;
	}
	return broker_read_mem(c, addr, m->ts, sizeof(m->ts)) < 0 ? -EFAULT : 0;
}

/* dirfd, path, following, from the call's arguments */
static void at(struct meta *m, const __u64 *a, int di, int pi, bool follow)
{
	m->dirfd = di < 0 ? AT_FDCWD : (int)a[di];
	m->has_path = pi >= 0;
	m->path_addr = pi >= 0 ? a[pi] : 0;
	m->follow = follow;
}

/* AT_* flags of the *at calls: follow, empty path; -EINVAL otherwise. */
static int at_flags(struct meta *m, unsigned long long flags)
{
	if (flags & ~(unsigned long long)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	m->follow = !(flags & AT_SYMLINK_NOFOLLOW);
	m->empty_ok = flags & AT_EMPTY_PATH;
	return 0;
}

static void xattr_args(struct meta *m, const __u64 *a, int first, bool set)
{
	m->kind = set ? M_SETX : M_REMOVEX;
	m->name_addr = a[first];
	if (set) {
		m->value_addr = a[first + 1];
		m->value_len = (size_t)a[first + 2];
		m->xflags = (int)a[first + 3];
	}
}

bool broker_meta(const struct broker_call *c, long long *val)
{
	const __u64 *a = c->req->data.args;
	struct meta m = {0};
	int r = 0;
	switch (c->req->data.nr) {
#ifdef SYS_chmod
	case SYS_chmod:
		m.kind = M_CHMOD, at(&m, a, -1, 0, true), m.mode = (mode_t)(a[1] & 07777);
		break;
#endif
	case SYS_fchmod:
		m.kind = M_CHMOD, at(&m, a, 0, -1, true), m.mode = (mode_t)(a[1] & 07777);
		break;
	case SYS_fchmodat:
		m.kind = M_CHMOD, at(&m, a, 0, 1, true), m.mode = (mode_t)(a[2] & 07777);
		break;
	case NR_FCHMODAT2:
		m.kind = M_CHMOD, at(&m, a, 0, 1, true), m.mode = (mode_t)(a[2] & 07777);
		r = at_flags(&m, a[3]);
		break;
#ifdef SYS_chown
	case SYS_chown:
		m.kind = M_CHOWN, at(&m, a, -1, 0, true), m.uid = (uid_t)a[1], m.gid = (gid_t)a[2];
		break;
#endif
#ifdef SYS_lchown
	case SYS_lchown:
		m.kind = M_CHOWN, at(&m, a, -1, 0, false), m.uid = (uid_t)a[1], m.gid = (gid_t)a[2];
		break;
#endif
	case SYS_fchown:
		m.kind = M_CHOWN, at(&m, a, 0, -1, true), m.uid = (uid_t)a[1], m.gid = (gid_t)a[2];
		break;
	case SYS_fchownat:
		m.kind = M_CHOWN, at(&m, a, 0, 1, true), m.uid = (uid_t)a[2], m.gid = (gid_t)a[3];
		r = at_flags(&m, a[4]);
		break;
#ifdef SYS_utime
	case SYS_utime:
		m.kind = M_TIMES, at(&m, a, -1, 0, true), r = read_times_utime(c, a[1], &m);
		break;
#endif
#ifdef SYS_utimes
	case SYS_utimes:
		m.kind = M_TIMES, at(&m, a, -1, 0, true), r = read_times_val(c, a[1], &m);
		break;
#endif
#ifdef SYS_futimesat
	case SYS_futimesat:
		m.kind = M_TIMES, at(&m, a, 0, 1, true), r = read_times_val(c, a[2], &m);
		break;
#endif
	case SYS_utimensat:
		m.kind = M_TIMES;
		if (a[1]) {
			at(&m, a, 0, 1, true);
			r = at_flags(&m, a[3]);
		} else if ((int)a[0] == AT_FDCWD) {
			r = -EFAULT;
		} else {
			at(&m, a, 0, -1, true); /* utimensat(fd, NULL, ...): the fd itself */
			r = a[3] ? -EINVAL : 0;
		}
		if (r == 0)
			r = read_times_spec(c, a[2], &m);
		break;
	case SYS_setxattr:
	case SYS_lsetxattr:
	case SYS_fsetxattr:
	case SYS_removexattr:
	case SYS_lremovexattr:
	case SYS_fremovexattr: {
		long nr = c->req->data.nr;
		bool set = nr == SYS_setxattr || nr == SYS_lsetxattr || nr == SYS_fsetxattr;
		bool byfd = nr == SYS_fsetxattr || nr == SYS_fremovexattr;
		bool nofollow = nr == SYS_lsetxattr || nr == SYS_lremovexattr;
		if (byfd)
			at(&m, a, 0, -1, true);
		else
			at(&m, a, -1, 0, !nofollow);
		xattr_args(&m, a, 1, set);
		break;
	}
	case SYS_ioctl: {
		/* the filter sends only the inode flag commands (low word) */
		unsigned cmd = (unsigned)a[1];
		m.kind = M_FLAGS, at(&m, a, 0, -1, true);
		m.ioctl_cmd = cmd;
		m.value_addr = a[2];
		m.value_len = _IOC_SIZE(cmd) == 4 ? 4 : cmd == FS_IOC_FSSETXATTR ? sizeof(struct fsxattr) : 0;
		/* FS_IOC_SETFLAGS is declared with a long but takes an int */
		if (cmd == FS_IOC_SETFLAGS)
			m.value_len = sizeof(int);
		if (!m.value_len || m.value_len > FLAGS_ARG_MAX)
			r = -ENOTTY;
		break;
	}
	default:
		return false;
	}
	*val = r < 0 ? r : run_meta(c, &m);
	return true;
}
