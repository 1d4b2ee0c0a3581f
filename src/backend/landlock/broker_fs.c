/* Creating, removing and renaming, answered by the broker (broker.h).
 *
 * Landlock cannot let the command create entries in a directory that
 * holds a protected name (.git, .agentbox, --protect) without letting it
 * create that name too; the same holds for every directory made there
 * later, which gets only that directory's rights. So these calls come
 * here, and for each target place (directory + final name) the broker
 *   1. copies the path from the caller's memory once,
 *   2. opens the directory part itself (O_PATH, relative to the caller's
 *      working directory or dirfd through /proc/TID),
 *   3. learns that directory's path from the kernel and checks it names
 *      the very directory it holds (device and inode),
 *   4. asks the plan whether everything at and below directory/name is
 *      writable: no protected or read-only node there, none above it;
 *   5. if so, performs the call itself on its directory fd, with the name
 *      as one component and no symbolic link followed, and answers with
 *      the result (a new fd through SECCOMP_IOCTL_NOTIF_ADDFD);
 *      if not, lets the call continue: Landlock, still in force for it,
 *      then refuses what the plan refuses (continuing never widens
 *      anything, whatever the caller changes meanwhile).
 * Why the decision still holds when the broker acts: a directory can only
 * move through rename, and every rename of a place comes here and is
 * performed only between places that are writable as a whole, so a
 * directory that is in such a place stays in one. */
#include "backend/landlock/broker_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "plan/plan.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

struct place {
	int dir;                   /* our O_PATH fd of the directory */
	char name[NAME_MAX + 1];   /* one component */
	char path[PATH_MAX];       /* directory/name, as the plan sees it */
};

/* True when the plan makes `p` and everything below it writable. */
static bool wholly_writable(const struct plan *plan, const char *p)
{
	if (plan_access_at(plan, p, -1) != AB_ACCESS_WRITE)
		return false;
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		bool below = path_is_under(n->path, p) ||
			     (!n->exists && n->first_missing && path_is_under(n->first_missing, p));
		bool above = path_is_under(p, n->path);
		/* agentbox's state stays read-only under Landlock (landlock.h) */
		if (n->source == NODE_STATE && (above || below))
			return false;
		if (below && (n->access != AB_ACCESS_WRITE || n->protected_name))
			return false;
	}
	return true;
}

/* The kernel's path of directory fd `dir`, checked to still name it. */
static int dir_path(int dir, char *out, size_t len)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dir);
	ssize_t n = readlink(proc, out, len - 1);
	if (n <= 0 || (size_t)n >= len - 1)
		return -1;
	out[n] = '\0';
	if (out[0] != '/' || strstr(out, " (deleted)"))
		return -1;
	struct stat a, b;
	int fd = open(out, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fstat(fd, &a) == 0 && fstat(dir, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	close(fd);
	return r ? 0 : -1;
}

/* 0: the place is resolved and the plan makes it writable as a whole;
 * 1: not for the broker (let it continue); -errno: answer with that. */
static int resolve(const struct broker_call *c, int dirfd, unsigned long long addr, bool dir_ok,
		   struct place *pl)
{
	char path[PATH_MAX], fixed[PATH_MAX + 32];
	pl->dir = -1;
	int r = broker_read_str(c, addr, path, sizeof(path));
	if (r == -EFAULT)
		return 1; /* unreadable (a non-dumpable caller, a bad pointer): the kernel decides */
	if (r < 0)
		return r;
	size_t len = strlen(path);
	bool slash = false;
	while (len > 1 && path[len - 1] == '/') {
		path[--len] = '\0';
		slash = true;
	}
	if (!len || (slash && !dir_ok))
		return 1;
	char *last = strrchr(path, '/');
	const char *name = last ? last + 1 : path;
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 1;
	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	snprintf(pl->name, sizeof(pl->name), "%s", name);
	const char *dpart = ".";
	if (last == path)
		dpart = "/";
	else if (last) {
		*last = '\0';
		dpart = path;
	}
	if (dpart[0] == '/') {
		broker_own_proc(c, dpart, fixed, sizeof(fixed));
		pl->dir = open(fixed, O_PATH | O_DIRECTORY | O_CLOEXEC);
	} else {
		int base = broker_open_base(c, dirfd);
		if (base < 0)
			return 1;
		pl->dir = openat(base, dpart, O_PATH | O_DIRECTORY | O_CLOEXEC);
		close(base);
	}
	if (pl->dir < 0)
		return 1; /* the kernel gives the caller the right error */
	if (broker_kernel_fs(pl->dir))
		return 1; /* never the kernel's knobs: Landlock keeps /proc read-only */
	char dp[PATH_MAX];
	if (dir_path(pl->dir, dp, sizeof(dp)) < 0 ||
	    snprintf(pl->path, sizeof(pl->path), "%s/%s", strcmp(dp, "/") == 0 ? "" : dp, pl->name) >=
		    (int)sizeof(pl->path))
		return 1;
	return wholly_writable(c->b->plan, pl->path) ? 0 : 1;
}

static void drop(struct place *pl)
{
	if (pl->dir >= 0)
		close(pl->dir);
	pl->dir = -1;
}

/* The caller's umask, from /proc/TID/status: the broker thread's own is
 * 0 (broker.c), so the mode is computed here as the kernel would. */
static mode_t caller_umask(const struct broker_call *c)
{
	char p[64], buf[2048];
	snprintf(p, sizeof(p), "/proc/%u/status", c->req->pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	mode_t m = 077; /* unreadable: the strictest */
	if (fd < 0)
		return m;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return m;
	buf[n] = '\0';
	const char *u = strstr(buf, "\nUmask:");
	if (u)
		m = (mode_t)strtoul(u + 7, NULL, 8) & 0777;
	return m;
}

static long long create_dir(struct broker_call *c, int dirfd, unsigned long long addr, mode_t mode,
			    enum broker_verdict *v)
{
	struct place pl;
	int r = resolve(c, dirfd, addr, true, &pl);
	if (r != 0) {
		drop(&pl);
		*v = r > 0 ? BV_CONTINUE : BV_REPLY;
		return r;
	}
	mode_t um = caller_umask(c);
	long long ret;
	if (mode & (S_ISUID | S_ISGID))
		ret = -EPERM; /* the same rule as the filter's (seccomp_files.c) */
	else if (!broker_still_valid(c))
		ret = -ESRCH;
	else
		ret = mkdirat(pl.dir, pl.name, mode & 01777 & ~um) < 0 ? -errno : 0;
	if (ret == 0)
		broker_note_created(c, pl.dir, pl.name, AT_REMOVEDIR);
	drop(&pl);
	return ret;
}

static long long remove_entry(const struct broker_call *c, int dirfd, unsigned long long addr, int flags,
			      enum broker_verdict *v)
{
	if (flags & ~AT_REMOVEDIR) {
		*v = BV_CONTINUE;
		return 0;
	}
	struct place pl;
	int r = resolve(c, dirfd, addr, flags & AT_REMOVEDIR, &pl);
	if (r != 0) {
		drop(&pl);
		*v = r > 0 ? BV_CONTINUE : BV_REPLY;
		return r;
	}
	long long ret = !broker_still_valid(c) ? -ESRCH :
			unlinkat(pl.dir, pl.name, flags) < 0 ? -errno : 0;
	drop(&pl);
	return ret;
}

static long long rename_entry(const struct broker_call *c, const __u64 *a, int od, int oa, int nd, int na,
			      unsigned flags, enum broker_verdict *v)
{
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		*v = BV_CONTINUE; /* RENAME_WHITEOUT: the kernel refuses it without capabilities */
		return 0;
	}
	struct place from = {.dir = -1}, to = {.dir = -1};
	int r = resolve(c, od < 0 ? AT_FDCWD : (int)a[od], a[oa], true, &from);
	if (r == 0)
		r = resolve(c, nd < 0 ? AT_FDCWD : (int)a[nd], a[na], true, &to);
	long long ret = r;
	*v = r > 0 ? BV_CONTINUE : BV_REPLY;
	if (r == 0)
		ret = !broker_still_valid(c) ? -ESRCH :
		      syscall(SYS_renameat2, from.dir, from.name, to.dir, to.name, flags) < 0 ? -errno : 0;
	drop(&from);
	drop(&to);
	return ret;
}

/* symlink: the target is only a string, stored as it is. */
static long long make_symlink(struct broker_call *c, unsigned long long target, int dirfd,
			      unsigned long long addr, enum broker_verdict *v)
{
	char t[PATH_MAX];
	int r = broker_read_str(c, target, t, sizeof(t));
	if (r < 0) {
		*v = r == -EFAULT ? BV_CONTINUE : BV_REPLY;
		return r;
	}
	struct place pl;
	r = resolve(c, dirfd, addr, false, &pl);
	long long ret = r;
	*v = r > 0 ? BV_CONTINUE : BV_REPLY;
	if (r == 0)
		ret = !broker_still_valid(c) ? -ESRCH : symlinkat(t, pl.dir, pl.name) < 0 ? -errno : 0;
	if (r == 0 && ret == 0)
		broker_note_created(c, pl.dir, pl.name, 0);
	drop(&pl);
	return ret;
}

/* link: both places writable as a whole, the source never followed (with
 * AT_SYMLINK_FOLLOW it could be anything: Landlock judges that one). */
static long long make_link(struct broker_call *c, const __u64 *a, int od, int oa, int nd, int na,
			   int flags, enum broker_verdict *v)
{
	if (flags) {
		*v = BV_CONTINUE;
		return 0;
	}
	struct place from = {.dir = -1}, to = {.dir = -1};
	int r = resolve(c, od < 0 ? AT_FDCWD : (int)a[od], a[oa], false, &from);
	if (r == 0)
		r = resolve(c, nd < 0 ? AT_FDCWD : (int)a[nd], a[na], false, &to);
	long long ret = r;
	*v = r > 0 ? BV_CONTINUE : BV_REPLY;
	if (r == 0)
		ret = !broker_still_valid(c) ? -ESRCH :
		      linkat(from.dir, from.name, to.dir, to.name, 0) < 0 ? -errno : 0;
	if (r == 0 && ret == 0)
		broker_note_created(c, to.dir, to.name, 0);
	drop(&from);
	drop(&to);
	return ret;
}

/* mknod: FIFOs, sockets and empty files (devices: the filter refuses). */
static long long make_node(struct broker_call *c, int dirfd, unsigned long long addr, mode_t mode,
			   enum broker_verdict *v)
{
	mode_t type = mode & S_IFMT;
	if (type != S_IFIFO && type != S_IFSOCK && type != S_IFREG && type != 0) {
		*v = BV_CONTINUE;
		return 0;
	}
	struct place pl;
	int r = resolve(c, dirfd, addr, false, &pl);
	long long ret = r;
	*v = r > 0 ? BV_CONTINUE : BV_REPLY;
	if (r == 0) {
		mode_t um = caller_umask(c);
		ret = (mode & (S_ISUID | S_ISGID)) ? -EPERM :
		      !broker_still_valid(c) ? -ESRCH :
		      mknodat(pl.dir, pl.name, type | (mode & 0777 & ~um), 0) < 0 ? -errno : 0;
		if (ret == 0)
			broker_note_created(c, pl.dir, pl.name, 0);
	}
	drop(&pl);
	return ret;
}

/* The new fd goes into the caller's table; FLAG_SEND (5.14) answers the
 * notification in the same step, before that the answer is the fd. */
static long long hand_over(const struct broker_call *c, int fd, int flags, enum broker_verdict *v)
{
	struct seccomp_notif_addfd add = {
		.id = c->req->id, .flags = SECCOMP_ADDFD_FLAG_SEND, .srcfd = (__u32)fd,
		.newfd = 0, .newfd_flags = (__u32)(flags & O_CLOEXEC),
	};
	int r = ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
	if (r >= 0) {
		*v = BV_SENT;
		return r;
	}
	if (errno != EINVAL)
		return -errno;
	add.flags = 0;
	r = ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
	return r < 0 ? -errno : r;
}

static long long create_file(struct broker_call *c, int dirfd, unsigned long long addr, int flags,
			     mode_t mode, enum broker_verdict *v)
{
	*v = BV_CONTINUE;
	if (!(flags & O_CREAT) || !c->b->addfd)
		return 0;
	struct place pl;
	int r = resolve(c, dirfd, addr, false, &pl);
	if (r != 0) {
		drop(&pl);
		if (r < 0)
			*v = BV_REPLY;
		return r;
	}
	mode_t um = caller_umask(c);
	*v = BV_REPLY;
	long long ret;
	if (mode & (S_ISUID | S_ISGID)) {
		ret = -EPERM;
	} else if (!broker_still_valid(c)) {
		ret = -ESRCH;
	} else {
		/* never through a symbolic link, never blocking on a FIFO,
		 * never taking a terminal */
		int ours = O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
		/* exclusively first, to know whether this call creates the
		 * file (and must remove it if the caller never learns) */
		bool created = true;
		int fd = openat(pl.dir, pl.name, flags | O_EXCL | ours, mode & 0777 & ~um);
		if (fd < 0 && errno == EEXIST && !(flags & O_EXCL)) {
			created = false;
			fd = openat(pl.dir, pl.name, flags | ours, mode & 0777 & ~um);
		}
		struct stat st;
		if (fd < 0 && errno == ELOOP && !(flags & O_NOFOLLOW)) {
			*v = BV_CONTINUE; /* a link: Landlock judges where it leads */
			ret = 0;
		} else if (fd < 0) {
			ret = -errno;
		} else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			*v = BV_CONTINUE; /* an existing FIFO or device: the kernel's */
			ret = 0;
		} else if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
			ret = -errno;
		} else {
			if (created)
				broker_note_created(c, pl.dir, pl.name, 0);
			ret = hand_over(c, fd, flags, v);
		}
		if (fd >= 0)
			close(fd);
	}
	drop(&pl);
	return ret;
}

bool broker_fs(struct broker_call *c, enum broker_verdict *v, long long *val)
{
	const __u64 *a = c->req->data.args;
	*v = BV_REPLY;
	switch (c->req->data.nr) {
#ifdef SYS_mkdir
	case SYS_mkdir:
		*val = create_dir(c, AT_FDCWD, a[0], (mode_t)a[1], v);
		break;
#endif
	case SYS_mkdirat:
		*val = create_dir(c, (int)a[0], a[1], (mode_t)a[2], v);
		break;
#ifdef SYS_rmdir
	case SYS_rmdir:
		*val = remove_entry(c, AT_FDCWD, a[0], AT_REMOVEDIR, v);
		break;
#endif
#ifdef SYS_unlink
	case SYS_unlink:
		*val = remove_entry(c, AT_FDCWD, a[0], 0, v);
		break;
#endif
	case SYS_unlinkat:
		*val = remove_entry(c, (int)a[0], a[1], (int)a[2], v);
		break;
#ifdef SYS_rename
	case SYS_rename:
		*val = rename_entry(c, a, -1, 0, -1, 1, 0, v);
		break;
#endif
#ifdef SYS_renameat
	case SYS_renameat:
		*val = rename_entry(c, a, 0, 1, 2, 3, 0, v);
		break;
#endif
	case SYS_renameat2:
		*val = rename_entry(c, a, 0, 1, 2, 3, (unsigned)a[4], v);
		break;
#ifdef SYS_symlink
	case SYS_symlink:
		*val = make_symlink(c, a[0], AT_FDCWD, a[1], v);
		break;
#endif
	case SYS_symlinkat:
		*val = make_symlink(c, a[0], (int)a[1], a[2], v);
		break;
#ifdef SYS_link
	case SYS_link:
		*val = make_link(c, a, -1, 0, -1, 1, 0, v);
		break;
#endif
	case SYS_linkat:
		*val = make_link(c, a, 0, 1, 2, 3, (int)a[4], v);
		break;
#ifdef SYS_mknod
	case SYS_mknod:
		*val = make_node(c, AT_FDCWD, a[0], (mode_t)a[1], v);
		break;
#endif
	case SYS_mknodat:
		*val = make_node(c, (int)a[0], a[1], (mode_t)a[2], v);
		break;
#ifdef SYS_creat
	case SYS_creat:
		*val = create_file(c, AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC, (mode_t)a[1], v);
		break;
#endif
#ifdef SYS_open
	case SYS_open:
		*val = create_file(c, AT_FDCWD, a[0], (int)a[1], (mode_t)a[2], v);
		break;
#endif
	case SYS_openat:
		*val = create_file(c, (int)a[0], a[1], (int)a[2], (mode_t)a[3], v);
		break;
	default:
		return false;
	}
	return true;
}
