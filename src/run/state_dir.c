#include "run/state_dir.h"

#include "common/error.h"
#include "common/util.h"

#include <errno.h>
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

int state_dir_get(char **path_out, ab_error *err)
{
	uid_t euid = geteuid();
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	bool created = true;
	struct stat st;

	if (xdg_runtime_usable(xdg, euid)) {
		_cleanup_free_ char *base = path_normalize(xdg);
		path = path_join(base, "agentbox");
	} else {
		path = xasprintf("/tmp/agentbox-%u", (unsigned)euid);
	}

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
	/* Undo a permissive umask only on a directory we made ourselves. */
	if (created && (st.st_mode & 07777) != 0700 && fchmod(fd, 0700) == 0)
		st.st_mode = (st.st_mode & ~07777u) | 0700;
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return refuse(err, EPERM, path, "is writable by group or others");

	*path_out = path;
	path = NULL;
	return 0;
}
