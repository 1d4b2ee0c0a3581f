#include "run/state_dir.h"

#include "common/error.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static bool xdg_runtime_usable(const char *xdg, uid_t euid)
{
	struct stat st;

	if (!xdg || !path_is_absolute(xdg))
		return false;
	/* lstat: a symlinked runtime dir is unusual enough to not trust. */
	if (lstat(xdg, &st) < 0)
		return false;
	return S_ISDIR(st.st_mode) && st.st_uid == euid;
}

static int refuse(ab_error *err, int code, const char *path, const char *why)
{
	ab_fail(err, code, "agentbox state directory %s %s", path, why);
	ab_error_hint(err,
		      "It must be a real directory owned by you with mode 0700. "
		      "Remove it (agentbox recreates it), or set XDG_RUNTIME_DIR "
		      "to a private directory you own.");
	return code ? -code : -EINVAL;
}

/* Removes the plain files of a state dir that was writable by others. */
static void drop_contents(int fd)
{
	int dfd = dup(fd);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			(void)unlinkat(fd, de->d_name, 0);
	closedir(d);
}

/* The two places a state dir can be; both functions below name them. */
static char *tmp_state_dir(uid_t uid)
{
	return xasprintf("/tmp/agentbox-%u", (unsigned)uid);
}

static char *xdg_state_dir(const char *xdg)
{
	_cleanup_free_ char *base = path_normalize(xdg);
	return path_join(base, "agentbox");
}

int state_dir_get(char **path_out, ab_error *err)
{
	uid_t euid = geteuid();
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	bool created = true;
	struct stat st;

	path = xdg_runtime_usable(xdg, euid) ? xdg_state_dir(xdg) : tmp_state_dir(euid);

	if (mkdir(path, 0700) < 0) {
		if (errno != EEXIST) {
			int e = errno;
			ab_fail_errno(err, e,
				      "cannot create agentbox state directory %s",
				      path);
			ab_error_hint(err,
				      "Set XDG_RUNTIME_DIR to a writable private "
				      "directory you own.");
			return -e;
		}
		created = false;
	}

	/* Checks go through one fd so what we check is what we return. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		/* O_NOFOLLOW|O_DIRECTORY reports a symlink as ENOTDIR. */
		if ((e == ELOOP || e == ENOTDIR) && lstat(path, &st) == 0 &&
		    S_ISLNK(st.st_mode))
			return refuse(err, ELOOP, path, "is a symlink");
		if (e == ENOTDIR)
			return refuse(err, e, path, "is not a directory");
		return ab_fail_errno(err, e,
				     "cannot open agentbox state directory %s",
				     path);
	}
	if (fstat(fd, &st) < 0)
		return ab_fail_errno(err, errno, "cannot stat %s", path);
	if (st.st_uid != euid) {
		char why[96];
		snprintf(why, sizeof(why), "is owned by uid %u, not by you (uid %u)",
			 (unsigned)st.st_uid, (unsigned)euid);
		return refuse(err, EPERM, path, why);
	}
	/* Undo a permissive umask on a directory we made; one of ours that
	 * others could write to is made private and emptied of what they may
	 * have planted (a cache only: losing it costs one probe). */
	if ((st.st_mode & 07777) != 0700) {
		if (fchmod(fd, 0700) < 0)
			return refuse(err, errno, path, "cannot be made private (mode 0700)");
		if (!created && (st.st_mode & (S_IWGRP | S_IWOTH)))
			drop_contents(fd);
	}

	*path_out = path;
	path = NULL;
	return 0;
}

void state_dir_candidates(strv *out)
{
	uid_t uid = geteuid();
	char *tmp = tmp_state_dir(uid);
	/* EEXIST, or not ours: hidden all the same */
	(void)mkdir(tmp, 0700);
	strv_push_owned(out, tmp);
	strv_push_owned(out, xasprintf("/run/user/%u/agentbox", (unsigned)uid));
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && path_is_absolute(xdg)) {
		char *p = xdg_state_dir(xdg);
		bool dup = false;
		for (size_t i = 0; i < out->n; i++)
			dup = dup || strcmp(out->v[i], p) == 0;
		if (dup)
			free(p);
		else
			strv_push_owned(out, p);
	}
}
