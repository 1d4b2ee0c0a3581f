/* See config_open.h: agentbox's configuration files by directory fd, no
 * symbolic link followed. */
#include "common/config_open.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/open_beneath.h"
#include "common/util.h"

int config_open_parent(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	if (!**base || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0)
		return -EISDIR;
	/* Lexically normalised and absolute: open_beneath walks down from
	 * "/" and refuses "..". */
	char *abs;
	if (path[0] == '/') {
		abs = xstrdup(path);
	} else {
		char *here = getcwd(NULL, 0);
		if (!here)
			return -errno;
		abs = path_join(here, path);
		free(here);
	}
	char *norm = path_normalize(abs);
	free(abs);
	char *dir = path_parent(norm);
	free(norm);
	int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		int e = errno;
		free(dir);
		return -e;
	}
	/* Not O_DIRECTORY: with O_NOFOLLOW it turns a link at the last
	 * component into ENOTDIR, and the user should learn it is a link. */
	int fd = open_beneath(open_beneath_probe_openat2(), root, dir, O_RDONLY);
	close(root);
	free(dir);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))) {
		close(fd);
		return -ENOTDIR;
	}
	return fd;
}

int config_open_file(int dirfd, const char *base)
{
	int fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	/* a regular file, or a character device such as /dev/null (an
	 * empty policy); a FIFO or socket could block or change under us */
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		close(fd);
		return -e;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

/* A name for the temporary file no one can guess in advance; O_EXCL
 * makes a planted file or link there a failure, not a target. */
static int open_temp(int dirfd, const char *base, char *name, size_t size)
{
	for (int tries = 0; tries < 16; tries++) {
		unsigned long long r = 0;
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			r ^= (unsigned long long)getpid() << 20 ^ (unsigned long long)tries;
		snprintf(name, size, ".%.200s.agentbox-%016llx", base, r);
		int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd < 0 ? -errno : fd;
	}
	return -EEXIST;
}

int config_write_atomically(int dirfd, const char *base, const char *text, size_t len,
			    unsigned mode, int uid, int gid, int keep_owner, const char **what)
{
	char tmp[NAME_MAX + 1];
	*what = "create a temporary file";
	int fd = open_temp(dirfd, base, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	int r = 0;
	if (keep_owner) {
		fchmod(fd, mode & 07777);
		if (fchown(fd, (uid_t)uid, (gid_t)gid) < 0) {
			/* not root: the file becomes ours, as any editor would do */
		}
	} else {
		fchmod(fd, 0644);
	}
	size_t off = 0;
	*what = "write the temporary file";
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0) {
		*what = "flush the temporary file";
		r = -errno;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, base) < 0) {
		*what = "rename the temporary file over it";
		r = -errno;
	}
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	fsync(dirfd); /* the rename itself must reach the disk too */
	return 0;
}
