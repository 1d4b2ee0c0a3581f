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

#ifndef __O_TMPFILE
#define __O_TMPFILE 020000000
#endif

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif


static long long create_dir(struct broker_call *c, int dirfd, unsigned long long addr, mode_t mode,
			    enum broker_verdict *v)
{
	struct broker_place pl = {.dir = -1};
	int r = broker_resolve(c, dirfd, addr, true, &pl);
	if (r != 0) {
		broker_place_drop(&pl);
		*v = r > 0 ? BV_CONTINUE : BV_REPLY;
		return r;
	}
	mode_t um = broker_caller_umask(c);
	long long ret;
	if (mode & (S_ISUID | S_ISGID))
		ret = -EPERM; /* the same rule as the filter's (seccomp_files.c) */
	else if (!broker_still_valid(c))
		ret = -ESRCH;
	else
		ret = mkdirat(pl.dir, pl.name, mode & 01777 & ~um) < 0 ? -errno : 0;
	if (ret == 0)
		broker_note_created(c, pl.dir, pl.name, AT_REMOVEDIR);
	broker_place_drop(&pl);
	return ret;
}

static long long remove_entry(const struct broker_call *c, int dirfd, unsigned long long addr, int flags,
			      enum broker_verdict *v)
{
	if (flags & ~AT_REMOVEDIR) {
		*v = BV_CONTINUE;
		return 0;
	}
	struct broker_place pl = {.dir = -1};
	int r = broker_resolve(c, dirfd, addr, flags & AT_REMOVEDIR, &pl);
	if (r != 0) {
		broker_place_drop(&pl);
		*v = r > 0 ? BV_CONTINUE : BV_REPLY;
		return r;
	}
	long long ret = !broker_still_valid(c) ? -ESRCH :
			unlinkat(pl.dir, pl.name, flags) < 0 ? -errno : 0;
	broker_place_drop(&pl);
	return ret;
}

static long long rename_entry(const struct broker_call *c, const __u64 *a, int od, int oa, int nd, int na,
			      unsigned flags, enum broker_verdict *v)
{
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		*v = BV_CONTINUE; /* RENAME_WHITEOUT: the kernel refuses it without capabilities */
		return 0;
	}
	struct broker_place from = {.dir = -1}, to = {.dir = -1};
	int r = broker_resolve(c, od < 0 ? AT_FDCWD : (int)a[od], a[oa], true, &from);
	if (r == 0)
		r = broker_resolve(c, nd < 0 ? AT_FDCWD : (int)a[nd], a[na], true, &to);
	long long ret = r;
	*v = r > 0 ? BV_CONTINUE : BV_REPLY;
	if (r == 0)
		ret = !broker_still_valid(c) ? -ESRCH :
		      syscall(SYS_renameat2, from.dir, from.name, to.dir, to.name, flags) < 0 ? -errno : 0;
	broker_place_drop(&from);
	broker_place_drop(&to);
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
	struct broker_place pl = {.dir = -1};
	r = broker_resolve(c, dirfd, addr, false, &pl);
	long long ret = r;
	*v = r > 0 ? BV_CONTINUE : BV_REPLY;
	if (r == 0)
		ret = !broker_still_valid(c) ? -ESRCH : symlinkat(t, pl.dir, pl.name) < 0 ? -errno : 0;
	if (r == 0 && ret == 0)
		broker_note_created(c, pl.dir, pl.name, 0);
	broker_place_drop(&pl);
	return ret;
}

/* link: both places writable as a whole, the source never followed (with
 * AT_SYMLINK_FOLLOW it could be anything: Landlock judges that one). */
/* Naming an O_TMPFILE (or a file removed while open): linkat of the
 * caller's fd with AT_EMPTY_PATH, or of /proc/self/fd/N with
 * AT_SYMLINK_FOLLOW. Only an object no directory holds is linked here
 * (nothing of the host's tree is reached through it); anything else is
 * Landlock's. The kernel itself refuses files made with O_EXCL. */
static long long link_unnamed(struct broker_call *c, const __u64 *a, int od, int oa, int nd, int na,
			      int flags, enum broker_verdict *v)
{
	char path[PATH_MAX], fixed[PATH_MAX + 32];
	*v = BV_CONTINUE;
	if (od < 0 || broker_read_str(c, a[oa], path, sizeof(path)) < 0)
		return 0;
	int src;
	if (!path[0] && flags == AT_EMPTY_PATH) {
		src = broker_open_base(c, (int)a[od]);
	} else if (path[0] == '/' && flags == AT_SYMLINK_FOLLOW) {
		broker_own_proc(c, path, fixed, sizeof(fixed));
		src = open(fixed, O_PATH | O_CLOEXEC);
	} else {
		return 0;
	}
	struct stat st;
	if (src < 0 || fstat(src, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 0) {
		if (src >= 0)
			close(src);
		return 0;
	}
	struct broker_place to = {.dir = -1};
	int r = broker_resolve(c, nd < 0 ? AT_FDCWD : (int)a[nd], a[na], false, &to);
	long long ret = r;
	*v = r > 0 ? BV_CONTINUE : BV_REPLY;
	if (r == 0) {
		snprintf(fixed, sizeof(fixed), "/proc/self/fd/%d", src);
		ret = !broker_still_valid(c) ? -ESRCH :
		      linkat(AT_FDCWD, fixed, to.dir, to.name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
		if (ret == 0)
			broker_note_created(c, to.dir, to.name, 0);
	}
	close(src);
	broker_place_drop(&to);
	return ret;
}

static long long make_link(struct broker_call *c, const __u64 *a, int od, int oa, int nd, int na,
			   int flags, enum broker_verdict *v)
{
	if (flags == AT_EMPTY_PATH || flags == AT_SYMLINK_FOLLOW)
		return link_unnamed(c, a, od, oa, nd, na, flags, v);
	if (flags) {
		*v = BV_CONTINUE;
		return 0;
	}
	struct broker_place from = {.dir = -1}, to = {.dir = -1};
	int r = broker_resolve(c, od < 0 ? AT_FDCWD : (int)a[od], a[oa], false, &from);
	if (r == 0)
		r = broker_resolve(c, nd < 0 ? AT_FDCWD : (int)a[nd], a[na], false, &to);
	long long ret = r;
	*v = r > 0 ? BV_CONTINUE : BV_REPLY;
	if (r == 0)
		ret = !broker_still_valid(c) ? -ESRCH :
		      linkat(from.dir, from.name, to.dir, to.name, 0) < 0 ? -errno : 0;
	if (r == 0 && ret == 0)
		broker_note_created(c, to.dir, to.name, 0);
	broker_place_drop(&from);
	broker_place_drop(&to);
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
	struct broker_place pl = {.dir = -1};
	int r = broker_resolve(c, dirfd, addr, false, &pl);
	long long ret = r;
	*v = r > 0 ? BV_CONTINUE : BV_REPLY;
	if (r == 0) {
		mode_t um = broker_caller_umask(c);
		ret = (mode & (S_ISUID | S_ISGID)) ? -EPERM :
		      !broker_still_valid(c) ? -ESRCH :
		      mknodat(pl.dir, pl.name, type | (mode & 0777 & ~um), 0) < 0 ? -errno : 0;
		if (ret == 0)
			broker_note_created(c, pl.dir, pl.name, 0);
	}
	broker_place_drop(&pl);
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
		*val = broker_open_call(c, AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC, (mode_t)a[1], v);
		break;
#endif
#ifdef SYS_open
	case SYS_open:
		*val = broker_open_call(c, AT_FDCWD, a[0], (int)a[1], (mode_t)a[2], v);
		break;
#endif
	case SYS_openat:
		*val = broker_open_call(c, (int)a[0], a[1], (int)a[2], (mode_t)a[3], v);
		break;
	default:
		return false;
	}
	return true;
}
