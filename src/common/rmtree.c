/* See rmtree.h. The walk is iterative: a stack of (name, dev, inode) on
 * the heap and one directory fd, so a tree nested a million levels deep
 * costs memory, never fds or C stack. */
#include "common/rmtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

struct level {
	char *name; /* in the level above */
	dev_t dev;
	ino_t ino;
};

struct id {
	dev_t dev;
	ino_t ino;
};

struct walk {
	struct level *lv;
	size_t n, cap;
	struct id *skip; /* directories that could not be emptied: not again */
	size_t n_skip, cap_skip;
	int first_errno;
	char *first_name;
};

static void note(struct walk *w, const char *name, int e)
{
	if (w->first_errno)
		return;
	w->first_errno = e;
	w->first_name = xstrdup(name);
}

static bool skipped(const struct walk *w, const struct stat *st)
{
	for (size_t i = 0; i < w->n_skip; i++)
		if (w->skip[i].dev == st->st_dev && w->skip[i].ino == st->st_ino)
			return true;
	return false;
}

static void add_skip(struct walk *w, dev_t dev, ino_t ino)
{
	grow_array((void **)&w->skip, &w->cap_skip, w->n_skip + 1, sizeof(*w->skip));
	w->skip[w->n_skip++] = (struct id){dev, ino};
}

/* Opens directory `name` below `at` to empty it. One of ours that denies
 * us access (mode 000, or read-only so that its entries cannot be
 * unlinked) gets 0700 first: by fd when it opens, else by name without
 * following a symlink put there meanwhile. */
static int open_dir(int at, const char *name, struct stat *st)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES) {
		struct stat l;
		if (fstatat(at, name, &l, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(l.st_mode) &&
		    l.st_uid == geteuid() && fchmodat(at, name, 0700, AT_SYMLINK_NOFOLLOW) == 0)
			fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		else
			errno = EACCES;
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (st->st_uid == geteuid() && (st->st_mode & 0700) != 0700)
		(void)fchmod(fd, (st->st_mode & 07777) | 0700); /* else unlink says why */
	return fd;
}

static void push(struct walk *w, const char *name, const struct stat *st)
{
	grow_array((void **)&w->lv, &w->cap, w->n + 1, sizeof(*w->lv));
	w->lv[w->n++] = (struct level){.name = xstrdup(name), .dev = st->st_dev, .ino = st->st_ino};
}

/* Unlinks what can go in `cur`; returns the fd of the first subdirectory
 * to empty (and pushes it), or -1 when none is left to descend into. */
static int scan(struct walk *w, int cur)
{
	int sfd = openat(cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = sfd >= 0 ? fdopendir(sfd) : NULL;
	if (!d) {
		if (sfd >= 0)
			close(sfd);
		note(w, w->lv[w->n - 1].name, errno);
		return -1;
	}
	int child = -1;
	struct dirent *de;
	while (child < 0 && (de = readdir(d))) {
		const char *e = de->d_name;
		if (strcmp(e, ".") == 0 || strcmp(e, "..") == 0)
			continue;
		if (unlinkat(cur, e, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR) {
			note(w, e, errno);
			continue;
		}
		struct stat st;
		if (fstatat(cur, e, &st, AT_SYMLINK_NOFOLLOW) < 0 || skipped(w, &st))
			continue;
		int fd = open_dir(cur, e, &st);
		if (fd < 0) {
			note(w, e, -fd);
			add_skip(w, st.st_dev, st.st_ino);
			continue;
		}
		push(w, e, &st);
		child = fd;
	}
	closedir(d);
	return child;
}

/* From the emptied top level back to its parent, through "..", which must
 * be the directory we came from; then the emptied one is removed. */
static int ascend(struct walk *w, int cur)
{
	const struct level *up_id = &w->lv[w->n - 2];
	int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (up < 0 || fstat(up, &st) < 0 || st.st_dev != up_id->dev || st.st_ino != up_id->ino) {
		note(w, w->lv[w->n - 1].name, up < 0 ? errno : EXDEV);
		if (up >= 0)
			close(up);
		return -1;
	}
	struct level *top = &w->lv[w->n - 1];
	if (unlinkat(up, top->name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
		note(w, top->name, errno);
		add_skip(w, top->dev, top->ino);
	}
	free(top->name);
	w->n--;
	return up;
}

int rmtree_at(int parent_fd, const char *name, ab_error *err)
{
	if (unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return ab_fail_errno(err, errno, "cannot remove %s", name);
	struct walk w = {0};
	struct stat st;
	int cur = open_dir(parent_fd, name, &st);
	if (cur < 0)
		return ab_fail_errno(err, -cur, "cannot open the directory %s to remove it", name);
	push(&w, name, &st);
	/* depth first: into the first subdirectory left, back up when a
	 * directory is empty (as far as it can be), until the top is */
	for (;;) {
		int child = scan(&w, cur);
		if (child >= 0) {
			close(cur);
			cur = child;
			continue;
		}
		if (w.n == 1)
			break;
		int up = ascend(&w, cur);
		close(cur);
		cur = up;
		if (cur < 0)
			break; /* lost the way back: leave the rest */
	}
	if (cur >= 0) {
		close(cur);
		if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			note(&w, name, errno);
	}
	int ret = 0;
	if (w.first_errno || cur < 0)
		ret = ab_fail_errno(err, w.first_errno ? w.first_errno : EXDEV,
				    "cannot remove everything in %s (first left: %s)", name,
				    w.first_name ? w.first_name : name);
	for (size_t i = 0; i < w.n; i++)
		free(w.lv[i].name);
	free(w.lv);
	free(w.skip);
	free(w.first_name);
	return ret;
}
