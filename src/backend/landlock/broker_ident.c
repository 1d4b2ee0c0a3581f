/* Does an object lie within a writable root of the plan? Decided by
 * identity (device and inode), never by a path the command gave: the
 * object's own directory, then each directory above it found through
 * "..", is compared with the plan's nodes; the nearest node decides.
 *
 * Why a decision taken now still holds when the broker acts a moment
 * later: Landlock keeps the command from moving anything into or out of
 * the writable roots (renaming needs the remove right at the source and
 * the make right at the destination, and linking a file into a directory
 * that gives more than its own needs the refer right), so an object that
 * is inside stays inside, and one outside stays outside. */
#include "backend/landlock/broker_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/util.h"

/* -1: no node has this identity; else whether every node that has it is
 * writable (the same inode twice, a hard link, must not widen). */
static int ident_access(const struct ll_broker *b, const struct stat *st, bool dir)
{
	int found = -1;
	for (size_t i = 0; i < b->n_idents; i++) {
		const struct broker_ident *n = &b->idents[i];
		if (n->is_dir != dir || n->dev != st->st_dev || n->ino != st->st_ino)
			continue;
		found = (found != 0) && n->writable;
	}
	return found;
}

bool broker_ident_narrower(const struct ll_broker *b, const struct stat *st)
{
	return ident_access(b, st, S_ISDIR(st->st_mode)) == 0;
}

static bool same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* The directory that holds the non-directory open at `fd`, checked to
 * hold it under the name the kernel reports: an O_PATH fd, or -errno. */
static int parent_of(int fd, const struct stat *st)
{
	char proc[64], target[PATH_MAX];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	if (n == 0 || (size_t)n >= sizeof(target) - 1)
		return -ENAMETOOLONG;
	target[n] = '\0';
	/* pipes, sockets, anonymous inodes, and names since removed */
	const char *del = " (deleted)";
	size_t dl = strlen(del);
	if (target[0] != '/' || ((size_t)n > dl && strcmp(target + n - dl, del) == 0))
		return -EPERM;
	char *slash = strrchr(target, '/');
	char name[NAME_MAX + 1];
	if (!slash[1] || strlen(slash + 1) > NAME_MAX)
		return -EPERM;
	snprintf(name, sizeof(name), "%s", slash + 1);
	if (slash == target)
		slash[1] = '\0'; /* the parent is / */
	else
		*slash = '\0';
	int dir = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	struct stat there;
	if (fstatat(dir, name, &there, AT_SYMLINK_NOFOLLOW) < 0 || !same(&there, st)) {
		close(dir);
		return -EAGAIN; /* renamed meanwhile: refuse rather than guess */
	}
	return dir;
}

bool broker_kernel_fs(int fd)
{
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0)
		return true; /* undecidable: treat it as the kernel's */
	return sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC;
}

int broker_in_writable(const struct ll_broker *b, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	/* /proc and /sys hold the kernel's knobs, read-only whatever the
	 * plan says about / (landlock_rules.c, set_blocks) */
	if (broker_kernel_fs(fd))
		return 0;
	int dir;
	if (!S_ISDIR(st.st_mode)) {
		int a = ident_access(b, &st, false);
		if (a >= 0)
			return a;
		/* a file no directory holds any more (O_TMPFILE, or removed
		 * while open): nothing of the host's tree changes with it */
		if (S_ISREG(st.st_mode) && st.st_nlink == 0)
			return 1;
		dir = parent_of(fd, &st);
		if (dir < 0)
			return dir;
	} else {
		dir = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (dir < 0)
			return -errno;
	}
	for (int depth = 0; depth < 4096; depth++) {
		struct stat here, up_st;
		if (fstat(dir, &here) < 0)
			break;
		int a = ident_access(b, &here, true);
		if (a >= 0) {
			close(dir);
			return a;
		}
		int up = openat(dir, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0 || fstat(up, &up_st) < 0) {
			if (up >= 0)
				close(up);
			break;
		}
		close(dir);
		dir = up;
		if (same(&up_st, &here)) {
			/* the top: no node above decides */
			close(dir);
			return b->root_writable ? 1 : 0;
		}
	}
	close(dir);
	return -ELOOP;
}
