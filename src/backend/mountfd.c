#include "backend/mountfd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"

/* The new mount API through syscall(2): glibc's wrappers and <linux/mount.h>
 * do not mix before glibc 2.37, and older glibc lacks the wrappers. */
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

#define AB_OPEN_TREE_CLONE 1
#define AB_OPEN_TREE_CLOEXEC O_CLOEXEC
#define AB_MOVE_MOUNT_F_EMPTY_PATH 0x04
#define AB_MOVE_MOUNT_T_EMPTY_PATH 0x40
#define AB_FSOPEN_CLOEXEC 0x01
#define AB_FSMOUNT_CLOEXEC 0x01
#define AB_FSCONFIG_SET_FLAG 0
#define AB_FSCONFIG_SET_STRING 1
#define AB_FSCONFIG_CMD_CREATE 6
#define AB_MOUNT_ATTR_RDONLY 0x01
#define AB_MOUNT_ATTR_NOSUID 0x02
#define AB_MOUNT_ATTR_NODEV 0x04
#define AB_MOUNT_ATTR_NOEXEC 0x08
#define AB_AT_RECURSIVE 0x8000

struct ab_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static int sys_open_tree(int dfd, const char *path, unsigned flags)
{
	return (int)syscall(SYS_open_tree, dfd, path, flags);
}

static int sys_move_mount(int from, int to)
{
	return (int)syscall(SYS_move_mount, from, "", to, "",
			    AB_MOVE_MOUNT_F_EMPTY_PATH | AB_MOVE_MOUNT_T_EMPTY_PATH);
}

static int sys_setattr(int fd, unsigned flags, uint64_t set)
{
	struct ab_mount_attr a = {.attr_set = set};
	return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | flags, &a, sizeof(a));
}

void mountfd_init(struct mountfd *m, const char *procfs, bool force_legacy)
{
	m->procfs = procfs;
	m->new_api = false;
	m->openat2 = false;
	if (force_legacy)
		return;
	/* A call that can only fail: ENOSYS says the kernel lacks it. */
	errno = 0;
	m->new_api = syscall(SYS_mount_setattr, -1, "", 0, NULL, 0) < 0 && errno != ENOSYS;
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
	m->openat2 = fd >= 0 || errno != ENOSYS;
	if (fd >= 0)
		close(fd);
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

int open_beneath(const struct mountfd *m, int dirfd, const char *rel, int flags)
{
	while (*rel == '/')
		rel++;
	if (*rel == '\0') {
		int fd = openat(dirfd, ".", flags | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	if (!m->openat2)
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

static char *magic(const struct mountfd *m, int fd)
{
	return xasprintf("%s/self/fd/%d", m->procfs, fd);
}

/* The flags a remount must keep: in a user namespace the kernel refuses to
 * drop nosuid, nodev, noexec or atime flags that the host set (locked). */
static unsigned long kept_flags(int fd)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (fstatvfs(fd, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

static int legacy_remount_fd(const struct mountfd *m, int fd, const char *where, ab_error *err)
{
	_cleanup_free_ char *t = magic(m, fd);
	if (mount(NULL, t, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(fd), NULL) < 0)
		return ab_fail_errno(err, errno, "cannot make %s read-only", where);
	return 0;
}

static char *unescape_mountinfo(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n + 1 && s[i + 1] >= '0' && s[i + 1] <= '3') {
			*o++ = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* The fallback for a recursive read-only bind: every mount at or below the
 * new bind's mount point, from mountinfo, remounted one by one. */
static int legacy_remount_tree(const struct mountfd *m, int top_fd, const char *where,
			       ab_error *err)
{
	char self[4096];
	_cleanup_free_ char *link = magic(m, top_fd);
	ssize_t n = readlink(link, self, sizeof(self) - 1);
	if (n < 0)
		return ab_fail_errno(err, errno, "cannot learn where %s is mounted", where);
	self[n] = '\0';
	_cleanup_free_ char *info_path = xasprintf("%s/self/mountinfo", m->procfs);
	FILE *f = fopen(info_path, "re");
	if (!f)
		return ab_fail_errno(err, errno, "cannot read %s", info_path);
	strv points = {0};
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		/* id parent major:minor root mountpoint ... */
		char *p = line;
		for (int field = 0; field < 4 && p; field++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (!p)
			continue;
		size_t len = strcspn(p, " ");
		char *mp = unescape_mountinfo(p, len);
		if (path_is_under(mp, self))
			strv_push_owned(&points, mp);
		else
			free(mp);
	}
	free(line);
	fclose(f);
	int ret = 0;
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; i < points.n && ret == 0 && root >= 0; i++) {
		int fd = open_beneath(m, root, points.v[i], O_PATH);
		if (fd == -ENOENT || fd == -EACCES)
			continue; /* covered by a later mount; that one is listed too */
		if (fd < 0) {
			ret = ab_fail_errno(err, -fd, "cannot open the mount %s below %s", points.v[i], where);
			break;
		}
		ret = legacy_remount_fd(m, fd, where, err);
		close(fd);
	}
	strv_free(&points);
	return ret;
}

int mountfd_bind(const struct mountfd *m, int src_fd, int target_fd, bool recursive,
		 bool readonly, const char *where, ab_error *err)
{
	if (m->new_api) {
		unsigned fl = AB_OPEN_TREE_CLONE | AB_OPEN_TREE_CLOEXEC | AT_EMPTY_PATH;
		if (recursive)
			fl |= AB_AT_RECURSIVE;
		_cleanup_close_ int tree = sys_open_tree(src_fd, "", fl);
		if (tree < 0)
			return ab_fail_errno(err, errno, "cannot copy the mount at %s", where);
		if (readonly && sys_setattr(tree, recursive ? AB_AT_RECURSIVE : 0, AB_MOUNT_ATTR_RDONLY) < 0)
			return ab_fail_errno(err, errno, "cannot make %s read-only", where);
		if (sys_move_mount(tree, target_fd) < 0)
			return ab_fail_errno(err, errno, "cannot mount %s", where);
		return 0;
	}
	_cleanup_free_ char *s = magic(m, src_fd);
	_cleanup_free_ char *t = magic(m, target_fd);
	if (mount(s, t, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL) < 0)
		return ab_fail_errno(err, errno, "cannot mount %s", where);
	if (!readonly)
		return 0;
	/* target_fd still names the covered directory; its path, looked up
	 * again, reaches the new mount on top of it */
	char path[4096];
	ssize_t n = readlink(t, path, sizeof(path) - 1);
	if (n < 0)
		return ab_fail_errno(err, errno, "cannot learn where %s was mounted", where);
	path[n] = '\0';
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int top = root < 0 ? -errno : open_beneath(m, root, path, O_PATH);
	if (top < 0)
		return ab_fail_errno(err, -top, "cannot reopen %s after mounting it", where);
	if (recursive)
		return legacy_remount_tree(m, top, where, err);
	return legacy_remount_fd(m, top, where, err);
}

static int new_api_fs(int target_fd, const char *type, const char *options, unsigned long flags,
		      const char *where, ab_error *err)
{
	_cleanup_close_ int fs = (int)syscall(SYS_fsopen, type, AB_FSOPEN_CLOEXEC);
	if (fs < 0)
		return ab_fail_errno(err, errno, "cannot create a %s filesystem for %s", type, where);
	char opts[256];
	snprintf(opts, sizeof(opts), "%s", options ? options : "");
	for (char *save = NULL, *tok = strtok_r(opts, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		int r;
		if (eq) {
			*eq = '\0';
			r = (int)syscall(SYS_fsconfig, fs, AB_FSCONFIG_SET_STRING, tok, eq + 1, 0);
		} else {
			r = (int)syscall(SYS_fsconfig, fs, AB_FSCONFIG_SET_FLAG, tok, NULL, 0);
		}
		if (r < 0)
			return ab_fail_errno(err, errno, "%s option '%s' refused for %s", type, tok, where);
	}
	if (syscall(SYS_fsconfig, fs, AB_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return ab_fail_errno(err, errno, "cannot create a %s filesystem for %s", type, where);
	unsigned attr = 0;
	if (flags & MS_NOSUID)
		attr |= AB_MOUNT_ATTR_NOSUID;
	if (flags & MS_NODEV)
		attr |= AB_MOUNT_ATTR_NODEV;
	if (flags & MS_NOEXEC)
		attr |= AB_MOUNT_ATTR_NOEXEC;
	if (flags & MS_RDONLY)
		attr |= AB_MOUNT_ATTR_RDONLY;
	_cleanup_close_ int mnt = (int)syscall(SYS_fsmount, fs, AB_FSMOUNT_CLOEXEC, attr);
	if (mnt < 0)
		return ab_fail_errno(err, errno, "cannot mount a %s filesystem on %s", type, where);
	if (sys_move_mount(mnt, target_fd) < 0)
		return ab_fail_errno(err, errno, "cannot mount a %s filesystem on %s", type, where);
	return 0;
}

int mountfd_fs(const struct mountfd *m, int target_fd, const char *type, const char *options,
	       unsigned long flags, const char *where, ab_error *err)
{
	if (m->new_api)
		return new_api_fs(target_fd, type, options, flags, where, err);
	_cleanup_free_ char *t = magic(m, target_fd);
	if (mount(type, t, type, flags, options) < 0)
		return ab_fail_errno(err, errno, "cannot mount a %s filesystem on %s", type, where);
	return 0;
}

int mountfd_tmpfs(const struct mountfd *m, int target_fd, unsigned mode, const char *where,
		  ab_error *err)
{
	char opts[32];
	snprintf(opts, sizeof(opts), "mode=%04o", mode);
	return mountfd_fs(m, target_fd, "tmpfs", opts, MS_NOSUID | MS_NODEV, where, err);
}

int mountfd_remount_ro(const struct mountfd *m, int dirfd, const char *rel, const char *where,
		       ab_error *err)
{
	_cleanup_close_ int fd = open_beneath(m, dirfd, rel, O_PATH);
	if (fd < 0)
		return ab_fail_errno(err, -fd, "cannot open %s to make it read-only", where);
	if (m->new_api) {
		if (sys_setattr(fd, 0, AB_MOUNT_ATTR_RDONLY) < 0)
			return ab_fail_errno(err, errno, "cannot make %s read-only", where);
		return 0;
	}
	return legacy_remount_fd(m, fd, where, err);
}
