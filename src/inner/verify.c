#include "inner/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/error.h"

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

static const char *kind_words(enum mount_expect_kind k)
{
	switch (k) {
	case MX_BIND_RO:
		return "read-only path";
	case MX_BIND_RW:
		return "writable path";
	case MX_COVER_DIR:
		return "hidden or blocked directory";
	case MX_COVER_FILE:
		return "hidden or blocked file";
	case MX_COVER_DATA:
		return "file covered with agentbox's read-only copy";
	}
	return "path";
}

static const char *type_words(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFREG:
		return "a regular file";
	case S_IFLNK:
		return "a symbolic link";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	}
	return "a file of unknown type";
}

static bool say(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return false;
}

static bool same_file(const struct mount_expect *e, const struct mount_seen *s)
{
	return e->have_id && e->dev == s->dev && e->ino == s->ino;
}

/* /dev/null, which bwrap binds where it cannot copy an empty file in. */
static bool is_dev_null(const struct mount_seen *s)
{
	return S_ISCHR(s->mode) && s->rdev_major == 1 && s->rdev_minor == 3;
}

static bool bind_met(const struct mount_expect *e, const struct mount_seen *s, char *why,
		     size_t len)
{
	if (e->have_id && !same_file(e, s))
		return say(why, len,
			   "found %s with device %u:%u inode %llu, but the plan resolved device %u:%u inode %llu",
			   type_words(s->mode), major((dev_t)s->dev), minor((dev_t)s->dev), s->ino,
			   major((dev_t)e->dev), minor((dev_t)e->dev), e->ino);
	/* The right file, but through the mount of a parent: the bind went
	 * somewhere else and this path shows the file unprotected. */
	if (s->mount_root == 0)
		return say(why, len, "the file is right but nothing is mounted on it (the bind landed elsewhere)");
	if (e->kind == MX_BIND_RO && !s->readonly)
		return say(why, len, "the file is right but writable");
	return true;
}

static bool cover_met(const struct mount_expect *e, const struct mount_seen *s, char *why,
		      size_t len)
{
	bool dir = e->kind == MX_COVER_DIR;
	if (same_file(e, s))
		return say(why, len, "the host's %s itself is visible (device %u:%u inode %llu), not the empty one mounted over it",
			   dir ? "directory" : "file", major((dev_t)s->dev), minor((dev_t)s->dev), s->ino);
	if (dir && !S_ISDIR(s->mode))
		return say(why, len, "found %s instead of an empty directory", type_words(s->mode));
	if (dir && !s->tmpfs)
		return say(why, len, "found a directory that is not the empty tmpfs mounted over it (device %u:%u inode %llu)",
			   major((dev_t)s->dev), minor((dev_t)s->dev), s->ino);
	if (!dir && !(S_ISREG(s->mode) && s->size == 0) && !is_dev_null(s))
		return say(why, len, "found %s of %llu bytes instead of an empty file", type_words(s->mode),
			   s->size);
	if (s->mount_root == 0)
		return say(why, len, "found %s that is not mounted over the path (device %u:%u inode %llu)",
			   type_words(s->mode), major((dev_t)s->dev), minor((dev_t)s->dev), s->ino);
	if (!s->readonly)
		return say(why, len, "found %s on a writable mount", type_words(s->mode));
	return true;
}

/* A copy of agentbox's own in place of the host's file: a regular file,
 * the root of a read-only mount, on the tmpfs where the backend made it,
 * and not the host's file itself. */
static bool data_met(const struct mount_expect *e, const struct mount_seen *s, char *why,
		     size_t len)
{
	if (same_file(e, s))
		return say(why, len, "the host's file itself is visible (device %u:%u inode %llu), not agentbox's copy mounted over it",
			   major((dev_t)s->dev), minor((dev_t)s->dev), s->ino);
	if (!S_ISREG(s->mode) || !s->tmpfs)
		return say(why, len, "found %s that is not agentbox's copy on its own tmpfs (device %u:%u inode %llu)",
			   type_words(s->mode), major((dev_t)s->dev), minor((dev_t)s->dev), s->ino);
	if (s->mount_root == 0)
		return say(why, len, "found a file that is not mounted over the path (device %u:%u inode %llu)",
			   major((dev_t)s->dev), minor((dev_t)s->dev), s->ino);
	if (!s->readonly)
		return say(why, len, "found the copy on a writable mount");
	return true;
}

bool mount_expect_met(const struct mount_expect *e, const struct mount_seen *s,
		      char *why, size_t len)
{
	if (s->open_err == ELOOP)
		return say(why, len, "a symbolic link is on its path now");
	if (s->open_err == ENOENT)
		return say(why, len, "it does not exist");
	if (s->open_err)
		return say(why, len, "cannot open and inspect it without following links: %s",
			   strerror(s->open_err));
	switch (e->kind) {
	case MX_BIND_RO:
	case MX_BIND_RW:
		return bind_met(e, s, why, len);
	case MX_COVER_DIR:
	case MX_COVER_FILE:
		return cover_met(e, s, why, len);
	case MX_COVER_DATA:
		return data_met(e, s, why, len);
	}
	return say(why, len, "unknown expectation '%c'", (char)e->kind);
}

/* Everything through the one descriptor: a second lookup of the path
 * could meet something else. */
static void observe(bool openat2, int rootfd, const char *path, struct mount_seen *s)
{
	memset(s, 0, sizeof(*s));
	s->mount_root = -1;
	int fd = open_beneath(openat2, rootfd, path, O_PATH);
	if (fd < 0) {
		s->open_err = -fd;
		return;
	}
	struct statx stx;
	struct stat st;
	unsigned mask = STATX_TYPE | STATX_MODE | STATX_INO | STATX_SIZE;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, mask, &stx) == 0) {
		s->mode = stx.stx_mode;
		s->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
		s->ino = stx.stx_ino;
		s->size = stx.stx_size;
		s->rdev_major = stx.stx_rdev_major;
		s->rdev_minor = stx.stx_rdev_minor;
		if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
			s->mount_root = (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
	} else if (fstat(fd, &st) == 0) {
		s->mode = st.st_mode;
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		s->size = (unsigned long long)st.st_size;
		s->rdev_major = major(st.st_rdev);
		s->rdev_minor = minor(st.st_rdev);
	} else {
		s->open_err = errno;
		close(fd);
		return;
	}
	struct statfs sf;
	if (fstatfs(fd, &sf) == 0) {
		s->readonly = (sf.f_flags & ST_RDONLY) != 0;
		s->tmpfs = sf.f_type == TMPFS_MAGIC;
	} else {
		s->open_err = errno;
	}
	close(fd);
}

int mount_verify(const struct mount_verifier *v, const struct mount_expect *e, ab_error *err)
{
	struct mount_seen s;
	char why[512];
	observe(v->openat2, v->rootfd, e->path, &s);
	if (mount_expect_met(e, &s, why, sizeof(why)))
		return 0;
	int r = ab_fail(err, EXDEV, "%s %s is not what agentbox planned: %s; the command was not started",
			kind_words(e->kind), e->path, why);
	ab_error_hint(err, "cause: something renamed or replaced it while the sandbox was being built (a process changing that directory during start-up), so a mount may not be where the plan put it");
	ab_error_hint(err, "fix: run again once nothing changes it during start-up; `agentbox explain` shows what each path must be");
	return r;
}

int mount_verifier_open(struct mount_verifier *v, ab_error *err)
{
	v->openat2 = open_beneath_probe_openat2();
	v->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (v->rootfd < 0)
		return ab_fail_errno(err, errno, "cannot open the sandbox's root to check its mounts");
	return 0;
}

void mount_verifier_close(struct mount_verifier *v)
{
	if (v->rootfd >= 0)
		close(v->rootfd);
	v->rootfd = -1;
}

int mount_verify_all(const struct mount_expect *e, size_t n, ab_error *err)
{
	if (n == 0)
		return 0;
	struct mount_verifier v;
	int r = mount_verifier_open(&v, err);
	for (size_t i = 0; i < n && r == 0; i++)
		r = mount_verify(&v, &e[i], err);
	mount_verifier_close(&v);
	return r;
}
