/* Host placeholders whose lifetime a flock holds; see placeholders.h. */
#include "supervisor/placeholders.h"

#include "common/error.h"
#include "common/open_beneath.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

struct ph_entry {
	char *path;
	const char *name; /* last component of path */
	bool dir;
	bool usable;
	int fd; /* holds our shared lock; -1 when there is nothing to hold */
	struct stat held; /* what fd is, when fd >= 0 */
	/* The parent directory, opened once for all the entries that share
	 * it (most blocks are in the workspace root) and kept until release:
	 * the placeholder is removed from the directory it was made in. */
	int pfd;
	bool owns_pfd;
};

struct placeholder_set {
	struct ph_entry *e;
	size_t n;
};

bool placeholder_is_marked(const struct stat *st)
{
	if (!S_ISDIR(st->st_mode) && !(S_ISREG(st->st_mode) && st->st_size == 0))
		return false;
	/* sticky, and no write, execute, setuid or setgid bit */
	return (st->st_mode & 07333) == S_ISVTX;
}

/* Opens the parent of `path` refusing any symlink on the way: the parent
 * is in a writable area, so this is where a race could redirect us. */
static int open_parent(int root, const char *path)
{
	_cleanup_free_ char *parent = path_parent(path);
	int fd = open_beneath(true, root, parent, O_PATH | O_DIRECTORY);
	if (fd == -ENOSYS) /* before openat2 (5.6) */
		fd = open_beneath(false, root, parent, O_PATH | O_DIRECTORY);
	/* O_NOFOLLOW|O_DIRECTORY says ENOTDIR for a symlink at the end */
	struct stat st;
	if (fd == -ENOTDIR && lstat(parent, &st) == 0 && S_ISLNK(st.st_mode))
		fd = -ELOOP;
	return fd;
}

static int fail_parent(ab_error *err, int code, const char *path)
{
	_cleanup_free_ char *parent = path_parent(path);

	if (code == ELOOP) {
		ab_fail(err, code, "cannot create placeholder %s: its parent path %s contains a symlink",
			path, parent);
		ab_error_hint(err,
			      "The path was canonical when the plan was made, so something replaced a "
			      "directory with a symlink since (a concurrent process, or tampering). "
			      "Check %s and run again.",
			      parent);
	} else if (code == ENOENT) {
		ab_fail(err, code, "cannot create placeholder %s: parent directory %s does not exist",
			path, parent);
		ab_error_hint(err, "Only the first missing component of a protected path gets a "
				   "placeholder; the directory changed since the plan was made. Run again.");
	} else {
		ab_fail_errno(err, code, "cannot create placeholder %s: cannot open parent directory %s",
			      path, parent);
	}
	return -code;
}

/* Opens what is at the name now, for locking. O_NONBLOCK: a FIFO planted
 * there must not hang us (its type is refused right after). */
static int open_existing(int pfd, const char *name, bool dir)
{
	int fd = openat(pfd, name,
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
				(dir ? O_DIRECTORY : 0));
	return fd < 0 ? -errno : fd;
}

/* Creates the placeholder and opens it. The mode is set again after
 * creation because the umask may have cleared read bits that other users'
 * runs need to open (and lock) it. -EAGAIN: made, but removed again (by
 * another run ending) before we could open it. */
static int create_marked(int pfd, const char *name, bool dir)
{
	int fd;
	if (dir) {
		if (mkdirat(pfd, name, PLACEHOLDER_MODE) < 0)
			return -errno;
		fd = open_existing(pfd, name, true);
		if (fd == -ENOENT)
			fd = -EAGAIN;
	} else {
		fd = openat(pfd, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    PLACEHOLDER_MODE);
		if (fd < 0)
			fd = -errno;
	}
	if (fd >= 0)
		(void)fchmod(fd, PLACEHOLDER_MODE);
	return fd;
}

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static int fail_busy(ab_error *err, const char *path)
{
	ab_fail(err, EBUSY,
		"cannot share placeholder %s: another process has held an exclusive lock on it "
		"for more than %d ms",
		path, PLACEHOLDER_LOCK_WAIT_MS);
	ab_error_hint(err,
		      "agentbox's own runs hold that lock only for the moment of removing the "
		      "placeholder. Find the holder in /proc/locks (the inode is the placeholder's, "
		      "`stat -c %%i %s`) and stop it, then run again.",
		      path);
	return -EBUSY;
}

/* Something unexpected is at the name (wrong type, or a marked placeholder
 * we may not read): fail rather than mount over what we cannot hold. */
static int fail_changed(ab_error *err, const char *path, const char *what)
{
	ab_fail(err, EEXIST, "cannot use placeholder %s: %s", path, what);
	ab_error_hint(err, "The path changed since the plan was made, or was made by another user "
			   "under a restrictive umask. Check it (and remove it if it is an empty "
			   "leftover), then run again.");
	return -EEXIST;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Open or create, lock shared, then check that the name still leads to the
 * inode we locked: a run that was removing it meanwhile held the exclusive
 * lock, and after it we may hold an inode that is no longer there. */
static int lock_loop(int pfd, struct ph_entry *e, ab_error *err)
{
	double deadline = monotonic_ms() + PLACEHOLDER_LOCK_WAIT_MS;
	long backoff = 1;
	for (;;) {
		int fd = open_existing(pfd, e->name, e->dir);
		if (fd == -ENOENT) {
			fd = create_marked(pfd, e->name, e->dir);
			/* EEXIST: another run made it meanwhile; EAGAIN: it was
			 * removed again before we could open it to lock it */
			if (fd == -EEXIST || fd == -EAGAIN) {
				if (monotonic_ms() >= deadline)
					return fail_busy(err, e->path);
				continue;
			}
			/* Nobody can create it here, the sandbox included: a
			 * read-only or foreign directory, or one whose filesystem
			 * makes no entries on request (procfs, sysfs: ENOENT with
			 * the parent open) or that was deleted. */
			if (fd == -EACCES || fd == -EPERM || fd == -EROFS || fd == -ENOENT) {
				e->usable = false;
				return 0;
			}
		}
		if (fd == -EACCES) {
			/* Not readable by us: not one of our placeholders (or one
			 * we cannot tell apart). Nothing of ours removes an
			 * unmarked entry, so there is no lifetime to hold. */
			struct stat st;
			if (fstatat(pfd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    placeholder_is_marked(&st))
				return fail_changed(err, e->path,
						    "it is another user's placeholder that you may not read");
			return 0;
		}
		if (fd == -ELOOP || fd == -ENOTDIR)
			return fail_changed(err, e->path, "it is now a symlink or of another type");
		if (fd < 0)
			return ab_fail_errno(err, -fd, "cannot open placeholder %s", e->path);

		struct stat held, now;
		if (fstat(fd, &held) < 0 ||
		    (e->dir ? !S_ISDIR(held.st_mode) : !S_ISREG(held.st_mode))) {
			close(fd);
			return fail_changed(err, e->path, "it is now of another type");
		}
		if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
			int ferr = errno;
			close(fd);
			if (ferr != EWOULDBLOCK)
				return ab_fail_errno(err, ferr, "cannot lock placeholder %s", e->path);
			if (monotonic_ms() >= deadline)
				return fail_busy(err, e->path);
			pause_ms(backoff);
			backoff = backoff < 32 ? backoff * 2 : 64;
			continue;
		}
		if (fstatat(pfd, e->name, &now, AT_SYMLINK_NOFOLLOW) == 0 && same_inode(&held, &now)) {
			e->fd = fd;
			e->held = held;
			return 0;
		}
		close(fd); /* removed or replaced while we waited: start over */
		if (monotonic_ms() >= deadline)
			return fail_busy(err, e->path);
	}
}

static bool same_parent(const struct ph_entry *a, const struct ph_entry *b)
{
	size_t la = (size_t)(a->name - a->path), lb = (size_t)(b->name - b->path);
	return la == lb && memcmp(a->path, b->path, la) == 0;
}

/* e's parent: the one an earlier entry of the set opened, or a new one. */
static int acquire_one(struct placeholder_set *set, int root, struct ph_entry *e, ab_error *err)
{
	for (size_t i = 0; i + 1 < set->n && e->pfd < 0; i++)
		if (set->e[i].pfd >= 0 && same_parent(&set->e[i], e))
			e->pfd = set->e[i].pfd;
	if (e->pfd < 0) {
		int pfd = root < 0 ? root : open_parent(root, e->path);
		if (pfd == -EACCES) {
			/* The user cannot reach the parent, so neither can the
			 * sandboxed command create anything there. */
			e->usable = false;
			return 0;
		}
		if (pfd < 0)
			return fail_parent(err, -pfd, e->path);
		e->pfd = pfd;
		e->owns_pfd = true;
	}
	return lock_loop(e->pfd, e, err);
}

/* Removes the placeholder if we can lock it exclusively at once (no other
 * sandbox needs it) and it is still the marked, empty entry we locked. */
static void release_one(struct ph_entry *e)
{
	struct stat held, now;
	if (e->fd < 0)
		return;
	if (flock(e->fd, LOCK_EX | LOCK_NB) == 0 && fstat(e->fd, &held) == 0 &&
	    placeholder_is_marked(&held) &&
	    fstatat(e->pfd, e->name, &now, AT_SYMLINK_NOFOLLOW) == 0 && same_inode(&held, &now) &&
	    placeholder_is_marked(&now))
		/* a directory that is no longer empty fails ENOTEMPTY */
		(void)unlinkat(e->pfd, e->name, e->dir ? AT_REMOVEDIR : 0);
	close(e->fd);
	e->fd = -1;
}

static void set_free(struct placeholder_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		if (set->e[i].owns_pfd)
			close(set->e[i].pfd);
		free(set->e[i].path);
	}
	free(set->e);
	free(set);
}

int placeholders_acquire(const struct placeholder_request *req, size_t n,
			 struct placeholder_set **out, ab_error *err)
{
	struct placeholder_set *set = xcalloc(1, sizeof(*set));
	set->e = xcalloc(n + 1, sizeof(*set->e));
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		root = -errno;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct ph_entry *e = &set->e[set->n++];
		e->path = xstrdup(req[i].path);
		e->name = strrchr(e->path, '/') + 1;
		e->dir = req[i].dir;
		e->usable = true;
		e->fd = -1;
		e->pfd = -1;
		ret = acquire_one(set, root, e, err);
	}
	if (root >= 0)
		close(root);
	if (ret < 0) {
		placeholders_release(set);
		return ret;
	}
	*out = set;
	return 0;
}

struct placeholder_ident placeholders_ident(const struct placeholder_set *set, size_t i)
{
	struct placeholder_ident id = {0};
	if (set && i < set->n && set->e[i].fd >= 0)
		id = (struct placeholder_ident){true, set->e[i].held.st_dev, set->e[i].held.st_ino};
	return id;
}

bool placeholders_usable(const struct placeholder_set *set, size_t i)
{
	return set && i < set->n && set->e[i].usable;
}

void placeholders_release(struct placeholder_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		release_one(&set->e[i]);
	set_free(set);
}
