/* Opening calls, answered by the broker (broker.h): creating a file
 * (O_CREAT), and opening one for writing or truncating it, or making an
 * O_TMPFILE, where Landlock gives a narrowed directory's later entries
 * too little. The new fd reaches the caller through
 * SECCOMP_IOCTL_NOTIF_ADDFD. */
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

/* dir/name opened as `flags` asks, but only when it is a regular file:
 * looked at first through O_PATH (opening a device or FIFO has effects of
 * its own), then that very inode reopened through /proc/self/fd, so no
 * rename in between can put something else there. ELOOP for a symbolic
 * link; -1 with errno 0 for anything but a regular file with one name,
 * or for a file the plan keeps narrower. */
static int reopen_regular(const struct ll_broker *b, int dir, const char *name, int flags)
{
	int p = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (p < 0)
		return -1;
	struct stat st;
	/* decided before any O_TRUNC could act: a file with another name
	 * (a hard link, maybe of a file in .git, which the host made) or a
	 * plan node kept narrower is Landlock's to judge, by its own rules */
	if (fstat(p, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    broker_ident_narrower(b, &st)) {
		int e = S_ISLNK(st.st_mode) ? ELOOP : 0;
		close(p);
		errno = e;
		return -1;
	}
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", p);
	int fd = open(proc, (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_DIRECTORY)) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	int e = errno;
	close(p);
	errno = e;
	return fd;
}

/* An open without O_CREAT that writes, truncates or makes an O_TMPFILE:
 * a file made in a narrowed directory after the start (or a directory
 * made there) has only that directory's Landlock rights, so the broker
 * opens it itself where the plan makes the place writable as a whole:
 * the final component never followed, an existing regular file only (or
 * the directory of an O_TMPFILE), never a plan node the plan keeps
 * narrower (a hard link of a protected file). Else Landlock judges. */
static long long open_existing(struct broker_call *c, int dirfd, unsigned long long addr, int flags,
			       mode_t mode, enum broker_verdict *v)
{
	bool tmpfile = (flags & __O_TMPFILE) == __O_TMPFILE;
	if (flags & O_PATH)
		return 0;
	struct broker_place pl = {.unnamed = tmpfile};
	int r = broker_resolve(c, dirfd, addr, tmpfile, &pl);
	if (r != 0) {
		broker_place_drop(&pl);
		if (r < 0)
			*v = BV_REPLY;
		return r;
	}
	mode_t um = tmpfile ? broker_caller_umask(c) : 0;
	long long ret = 0;
	int fd = -1;
	struct stat st;
	if (tmpfile && (mode & (S_ISUID | S_ISGID))) {
		*v = BV_REPLY;
		ret = -EPERM;
	} else if (!broker_still_valid(c)) {
		*v = BV_REPLY;
		ret = -ESRCH;
	} else {
		fd = tmpfile ? openat(pl.dir, pl.name, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
				      mode & 0777 & ~um)
			     : reopen_regular(c->b, pl.dir, pl.name, flags);
		if (fd < 0 && errno == ELOOP && !(flags & O_NOFOLLOW)) {
			ret = 0; /* a link: Landlock judges where it leads */
		} else if (fd < 0 && errno == 0) {
			ret = 0; /* not a regular file: the kernel's */
		} else if (fd < 0) {
			*v = BV_REPLY;
			ret = -errno;
		} else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			ret = 0; /* not a regular file: the kernel's */
		} else if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
			*v = BV_REPLY;
			ret = -errno;
		} else {
			*v = BV_REPLY;
			ret = hand_over(c, fd, flags, v);
		}
	}
	if (fd >= 0)
		close(fd);
	broker_place_drop(&pl);
	return ret;
}

long long broker_open_call(struct broker_call *c, int dirfd, unsigned long long addr, int flags,
			     mode_t mode, enum broker_verdict *v)
{
	*v = BV_CONTINUE;
	if (!c->b->addfd)
		return 0;
	if (!(flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE)
		return open_existing(c, dirfd, addr, flags, mode, v);
	struct broker_place pl = {.dir = -1};
	int r = broker_resolve(c, dirfd, addr, false, &pl);
	if (r != 0) {
		broker_place_drop(&pl);
		if (r < 0)
			*v = BV_REPLY;
		return r;
	}
	mode_t um = broker_caller_umask(c);
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
		bool other = false; /* an existing file the broker leaves alone */
		if (fd < 0 && errno == EEXIST && !(flags & O_EXCL)) {
			created = false;
			fd = reopen_regular(c->b, pl.dir, pl.name, flags);
			other = fd < 0 && errno == 0;
		}
		struct stat st;
		if (other) {
			*v = BV_CONTINUE; /* a FIFO, a device, a protected file */
			ret = 0;
		} else if (fd < 0 && errno == ELOOP && !(flags & O_NOFOLLOW)) {
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
	broker_place_drop(&pl);
	return ret;
}
