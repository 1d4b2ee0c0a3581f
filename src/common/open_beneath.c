#include "common/open_beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

bool open_beneath_probe_openat2(void)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
	bool has = fd >= 0 || errno != ENOSYS;
	if (fd >= 0)
		close(fd);
	return has;
}

/* Kernels before 5.6: one component at a time, refusing symlinks. */
static int walk_beneath(int dirfd, const char *rel, int flags)
{
	int cur = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return -errno;
	const char *p = rel;
	while (*p) {
		size_t n = strcspn(p, "/");
		char name[256];
		if (n == 0) {
			p++;
			continue;
		}
		if (n >= sizeof(name) || (n == 2 && p[0] == '.' && p[1] == '.')) {
			close(cur);
			return n >= sizeof(name) ? -ENAMETOOLONG : -EXDEV;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		bool last = p[n] == '\0';
		int f = last ? (flags | O_NOFOLLOW | O_CLOEXEC) : (O_PATH | O_NOFOLLOW | O_CLOEXEC);
		int next = openat(cur, name, f);
		int e = errno;
		close(cur);
		if (next < 0)
			return -e;
		struct stat st;
		if (fstat(next, &st) < 0 || S_ISLNK(st.st_mode) ||
		    (!last && !S_ISDIR(st.st_mode))) {
			bool link = S_ISLNK(st.st_mode);
			close(next);
			return link ? -ELOOP : -ENOTDIR;
		}
		cur = next;
		p += n;
	}
	return cur;
}

int open_beneath(bool openat2, int dirfd, const char *rel, int flags)
{
	while (*rel == '/')
		rel++;
	if (*rel == '\0') {
		int fd = openat(dirfd, ".", flags | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	if (!openat2)
		return walk_beneath(dirfd, rel, flags);
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : fd;
}

