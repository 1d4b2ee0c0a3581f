#include "backend/builtin/mountfd.h"

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
	m->openat2 = open_beneath_probe_openat2();
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

static char *unescape_mountinfo(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3') {
			*o++ = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* ---- the mount(2) fallback ----------------------------------------------
 * mount(2) returns nothing that names the new mount, so the fallback finds
 * it again by path and then proves, by mount id, that what it found is the
 * mount it made: a path can be swapped in a writable area meanwhile. */

struct mi_entry {
	int id, parent;
	bool ro;
	char *point;
};

struct mountinfo {
	struct mi_entry *e;
	size_t n, cap;
};

static void mountinfo_free(struct mountinfo *mi)
{
	for (size_t i = 0; i < mi->n; i++)
		free(mi->e[i].point);
	free(mi->e);
	mi->e = NULL;
	mi->n = mi->cap = 0;
}

static int mountinfo_read(const struct mountfd *m, struct mountinfo *mi, ab_error *err)
{
	*mi = (struct mountinfo){0};
	_cleanup_free_ char *path = xasprintf("%s/self/mountinfo", m->procfs);
	FILE *f = fopen(path, "re");
	if (!f)
		return ab_fail_errno(err, errno, "cannot read %s", path);
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		/* id parent major:minor root mountpoint options ... */
		int id, parent, off = 0;
		if (sscanf(line, "%d %d %*s %*s %n", &id, &parent, &off) != 2 || off == 0)
			continue;
		const char *p = line + off;
		size_t len = strcspn(p, " ");
		const char *opts = p + len + (p[len] == ' ');
		grow_array((void **)&mi->e, &mi->cap, mi->n + 1, sizeof(*mi->e));
		mi->e[mi->n++] = (struct mi_entry){
			.id = id, .parent = parent,
			.ro = strncmp(opts, "ro", 2) == 0 && (opts[2] == ',' || opts[2] == ' '),
			.point = unescape_mountinfo(p, len),
		};
	}
	free(line);
	fclose(f);
	return 0;
}

static const struct mi_entry *mountinfo_find(const struct mountinfo *mi, int id)
{
	for (size_t i = 0; i < mi->n; i++)
		if (mi->e[i].id == id)
			return &mi->e[i];
	return NULL;
}

/* Is mount `id` `top` itself or below it? */
static bool mountinfo_below(const struct mountinfo *mi, int id, int top)
{
	for (size_t hops = 0; hops <= mi->n; hops++) {
		if (id == top)
			return true;
		const struct mi_entry *e = mountinfo_find(mi, id);
		if (!e || e->parent == id)
			return false;
		id = e->parent;
	}
	return false;
}

/* A mount with another stacked right on top of it (same mount point) can
 * no longer be reached by any path, so its flags do not matter. */
static bool mountinfo_covered(const struct mountinfo *mi, const struct mi_entry *e)
{
	for (size_t i = 0; i < mi->n; i++)
		if (mi->e[i].parent == e->id && strcmp(mi->e[i].point, e->point) == 0)
			return true;
	return false;
}

static int mnt_id_of(const struct mountfd *m, int fd)
{
	_cleanup_free_ char *path = xasprintf("%s/self/fdinfo/%d", m->procfs, fd);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char line[128];
	int id = -ENOENT;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "mnt_id: %d", &id) == 1)
			break;
	fclose(f);
	return id;
}

/* Finds the mount just made on target_fd: reopens the target's path and
 * checks that the result is a mount whose parent is the target's mount. */
static int legacy_new_mount(const struct mountfd *m, int target_fd, const char *where,
			    ab_error *err)
{
	_cleanup_free_ char *t = magic(m, target_fd);
	char path[4096];
	ssize_t n = readlink(t, path, sizeof(path) - 1);
	if (n < 0)
		return ab_fail_errno(err, errno, "cannot learn where %s was mounted", where);
	path[n] = '\0';
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return ab_fail_errno(err, errno, "cannot open /");
	int top = open_beneath(m->openat2, root, path, O_PATH);
	if (top < 0)
		return ab_fail_errno(err, -top, "cannot reopen %s after mounting it", where);
	int under = mnt_id_of(m, target_fd), id = mnt_id_of(m, top);
	struct mountinfo mi;
	int r = mountinfo_read(m, &mi, err);
	if (r < 0) {
		close(top);
		return r;
	}
	const struct mi_entry *e = id >= 0 ? mountinfo_find(&mi, id) : NULL;
	bool ok = under >= 0 && id >= 0 && id != under && e && e->parent == under;
	mountinfo_free(&mi);
	if (!ok) {
		close(top);
		return ab_fail(err, EXDEV,
			       "%s changed while the sandbox was being built (the path no longer leads to the mount just made); refusing to go on",
			       where);
	}
	return top;
}

static int legacy_remount_fd(const struct mountfd *m, int fd, const char *where, ab_error *err)
{
	_cleanup_free_ char *t = magic(m, fd);
	if (mount(NULL, t, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | kept_flags(fd), NULL) < 0)
		return ab_fail_errno(err, errno, "cannot make %s read-only", where);
	return 0;
}

/* Every mount at or below top_fd's mount read-only, each reached by path
 * and checked by id; then mountinfo must show all of them read-only. */
static int legacy_remount_tree(const struct mountfd *m, int top_fd, bool recursive,
			       const char *where, ab_error *err)
{
	int top = mnt_id_of(m, top_fd);
	if (top < 0)
		return ab_fail_errno(err, -top, "cannot learn the mount id of %s", where);
	int ret = legacy_remount_fd(m, top_fd, where, err);
	struct mountinfo mi = {0};
	if (ret == 0 && recursive)
		ret = mountinfo_read(m, &mi, err);
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; ret == 0 && i < mi.n; i++) {
		const struct mi_entry *e = &mi.e[i];
		if (e->id == top || !mountinfo_below(&mi, e->id, top))
			continue;
		if (mountinfo_covered(&mi, e))
			continue;
		int fd = root < 0 ? -EBADF : open_beneath(m->openat2, root, e->point, O_PATH);
		if (fd >= 0 && mnt_id_of(m, fd) == e->id) {
			ret = legacy_remount_fd(m, fd, e->point, err);
		} else if (fd != -ENOENT && fd != -EACCES) {
			/* ENOENT/EACCES: hidden below a later mount; the
			 * final check below still insists on read-only */
			ret = ab_fail(err, EXDEV, "cannot reach the mount %s below %s to make it read-only",
				      e->point, where);
		}
		if (fd >= 0)
			close(fd);
	}
	mountinfo_free(&mi);
	if (ret == 0)
		ret = mountinfo_read(m, &mi, err);
	for (size_t i = 0; ret == 0 && i < mi.n; i++)
		if (!mi.e[i].ro && mountinfo_below(&mi, mi.e[i].id, top) &&
		    (recursive || mi.e[i].id == top) && !mountinfo_covered(&mi, &mi.e[i]))
			ret = ab_fail(err, EPERM, "%s stayed writable (mount %s); refusing to go on",
				      where, mi.e[i].point);
	mountinfo_free(&mi);
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
	_cleanup_close_ int top = legacy_new_mount(m, target_fd, where, err);
	if (top < 0)
		return top;
	struct stat a, b;
	if (fstat(top, &a) < 0 || fstat(src_fd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return ab_fail(err, EXDEV, "%s changed while the sandbox was being built; refusing to go on",
			       where);
	return legacy_remount_tree(m, top, recursive, where, err);
}

static int new_api_fs(int target_fd, const char *type, const char *options, unsigned long flags,
		      const char *where, int *mnt_out, ab_error *err)
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
	if (mnt_out) {
		*mnt_out = mnt;
		mnt = -1;
	}
	return 0;
}

int mountfd_fs(const struct mountfd *m, int target_fd, const char *type, const char *options,
	       unsigned long flags, const char *where, int *mnt_out, ab_error *err)
{
	if (mnt_out)
		*mnt_out = -1;
	if (m->new_api)
		return new_api_fs(target_fd, type, options, flags, where, mnt_out, err);
	_cleanup_free_ char *t = magic(m, target_fd);
	if (mount(type, t, type, flags, options) < 0)
		return ab_fail_errno(err, errno, "cannot mount a %s filesystem on %s", type, where);
	if (!mnt_out)
		return 0;
	int fd = legacy_new_mount(m, target_fd, where, err);
	if (fd < 0)
		return fd;
	*mnt_out = fd;
	return 0;
}

int mountfd_tmpfs(const struct mountfd *m, int target_fd, unsigned mode, const char *where,
		  int *mnt_out, ab_error *err)
{
	char opts[32];
	snprintf(opts, sizeof(opts), "mode=%04o", mode);
	return mountfd_fs(m, target_fd, "tmpfs", opts, MS_NOSUID | MS_NODEV, where, mnt_out, err);
}

int mountfd_remount_ro(const struct mountfd *m, int mnt_fd, const char *where, ab_error *err)
{
	if (m->new_api) {
		if (sys_setattr(mnt_fd, 0, AB_MOUNT_ATTR_RDONLY) < 0)
			return ab_fail_errno(err, errno, "cannot make %s read-only", where);
		return 0;
	}
	return legacy_remount_tree(m, mnt_fd, false, where, err);
}
