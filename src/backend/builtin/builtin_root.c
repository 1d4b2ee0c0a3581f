/* The built-in engine's mount tree: the plan's operations, executed in
 * order inside the sandbox's fresh mount namespace.
 *
 * Shape: a private scratch tmpfs becomes the root for a moment (the host's
 * tree then lives at /oldroot and the sandbox's at /newroot); every
 * operation takes its source from /oldroot and its target from /newroot by
 * file descriptor, opened without following symbolic links; then a second
 * pivot_root makes /newroot the root and detaches everything else.
 *
 * Why sources and targets are both opened and compared: a writable root is
 * shared with the host (and with other sandboxes), so while we work someone
 * may swap /repo/.git for a symlink to /etc. Neither open follows a link,
 * and a target that does not have the source's device and inode refuses the
 * run, so a mount can only ever land on the path the plan names.
 *
 * Mountpoints that do not exist are created only on tmpfs mounts made here
 * (the empty root, masks, /dev): a run never creates anything on the host;
 * missing protected names are the caller's host placeholders. */
#include "backend/builtin/builtin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backend/builtin/builtin_steps.h"
#include "backend/devices.h"
#include "backend/builtin/mountfd.h"
#include "common/error.h"
#include "common/util.h"

/* Where the scratch root is mounted first. Any directory works: the mount
 * exists only in this namespace and moves to / right away; /proc exists on
 * every host this engine can run on (it needs /proc for the id maps). */
#define SCRATCH "/proc"
#define OLDROOT "oldroot"
#define NEWROOT "newroot"

struct root_builder {
	const struct plan *plan;
	const struct placeholder_ident *held; /* per op, or NULL */
	struct mountfd m;
	int oldroot;      /* the host's tree */
	int newroot;      /* the sandbox's tree (topmost mount) */
	dev_t own[64];    /* tmpfs mounts made here: may hold new mountpoints */
	size_t n_own;
	struct { const char *path; int fd; } masks[64]; /* masks awaiting their remount */
	size_t n_masks;
	enum builtin_failure *failure;
};

static const char *rel(const char *path)
{
	while (*path == '/')
		path++;
	return path;
}

static bool is_own(const struct root_builder *b, dev_t dev)
{
	for (size_t i = 0; i < b->n_own; i++)
		if (b->own[i] == dev)
			return true;
	return false;
}

/* The new tmpfs mnt_fd names may hold mountpoints this run creates. */
static int remember_own(struct root_builder *b, int mnt_fd, const char *path, ab_error *err)
{
	struct stat st;
	if (fstat(mnt_fd, &st) < 0)
		return ab_fail_errno(err, errno, "cannot stat the new mount at %s", path);
	if (b->n_own >= sizeof(b->own) / sizeof(b->own[0]))
		return ab_fail(err, E2BIG, "the policy needs more than %zu hidden directories; simplify it",
			       sizeof(b->own) / sizeof(b->own[0]));
	b->own[b->n_own++] = st.st_dev;
	return 0;
}

/* A failure to reach a path: the plan cannot be built safely. */
static int refuse_path(struct root_builder *b, int code, ab_error *err, const char *what,
		       const char *path)
{
	*b->failure = BUILTIN_FAIL_REFUSE;
	int r = ab_fail_errno(err, code, "%s %s", what, path);
	if (code == ELOOP)
		ab_error_hint(err, "cause: a symbolic link appeared on this path after agentbox resolved the policy (something is changing the directory while the sandbox starts); nothing was mounted there and the run was refused");
	return r;
}

/* Opens the sandbox-side target of an operation, one component at a
 * time (builtin_component_action decides each step). Missing components
 * are created (directories, and a file at the end when !want_dir) only
 * when their parent lies on a tmpfs made here. */
static int open_target(struct root_builder *b, const char *path, bool want_dir, ab_error *err)
{
	/* Where every component exists (most targets), one openat2 that
	 * refuses symbolic links in every component is the same walk in one
	 * system call instead of four per component. A symlink at the end
	 * (O_PATH|O_NOFOLLOW opens it) or anything missing goes the long way,
	 * which creates what may be created and says what is refused. */
	if (b->m.openat2) {
		int fd = open_beneath(true, b->newroot, rel(path), O_PATH);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISLNK(st.st_mode))
			return fd;
		if (fd >= 0)
			close(fd);
	}
	int cur = fcntl(b->newroot, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return ab_fail_errno(err, errno, "cannot duplicate a descriptor");
	const char *p = rel(path);
	while (*p) {
		size_t n = strcspn(p, "/");
		char name[256];
		if (n >= sizeof(name)) {
			close(cur);
			return ab_fail(err, ENAMETOOLONG, "a component of %s is too long", path);
		}
		memcpy(name, p, n);
		name[n] = '\0';
		bool last = p[n] == '\0';
		struct stat parent, st;
		bool parent_own = fstat(cur, &parent) == 0 && is_own(b, parent.st_dev);
		int fd = open_beneath(b->m.openat2, cur, name, O_PATH);
		if (fd < 0 && fd != -ENOENT) {
			close(cur);
			return refuse_path(b, -fd, err, "cannot open inside the sandbox:", path);
		}
		if (fd >= 0 && fstat(fd, &st) < 0) {
			close(fd);
			close(cur);
			return ab_fail_errno(err, errno, "cannot stat %s inside the sandbox", path);
		}
		switch (builtin_component_action(fd >= 0, &st, last, parent_own)) {
		case COMP_DESCEND:
			break;
		case COMP_CREATE: {
			int r;
			if (!last || want_dir) {
				r = mkdirat(cur, name, 0755);
			} else {
				r = openat(cur, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
				if (r >= 0)
					r = close(r);
			}
			if (r < 0 && errno != EEXIST) {
				close(cur);
				return ab_fail_errno(err, errno, "cannot create the mountpoint %s", path);
			}
			fd = open_beneath(b->m.openat2, cur, name, O_PATH);
			if (fd < 0) {
				close(cur);
				return refuse_path(b, -fd, err, "cannot open inside the sandbox:", path);
			}
			break;
		}
		case COMP_REFUSE_MISSING:
			close(cur);
			return refuse_path(b, ENOENT, err, "cannot mount on (it no longer exists)", path);
		case COMP_REFUSE_SYMLINK:
			close(fd);
			close(cur);
			return refuse_path(b, ELOOP, err, "cannot mount on (a component is a symbolic link)", path);
		case COMP_REFUSE_NOTDIR:
			close(fd);
			close(cur);
			return refuse_path(b, ENOTDIR, err, "cannot mount on (a component is not a directory)", path);
		}
		close(cur);
		cur = fd;
		p += n;
		while (*p == '/')
			p++;
	}
	return cur;
}

/* The file resolution found at op's path, or NULL when it knows none (a
 * block over a path that did not exist). */
/* The file a mount must land on, when known: for a block, the
 * placeholder whose lock this run holds (another run may have replaced
 * the one the plan saw, and the lock is what keeps ours there); otherwise
 * the file the plan resolved. */
struct want {
	bool known;
	dev_t dev;
	ino_t ino;
};

static struct want planned(const struct root_builder *b, const struct plan_op *op)
{
	size_t i = (size_t)(op - b->plan->ops);
	if ((op->kind == OP_BLOCK_DIR || op->kind == OP_BLOCK_FILE) && b->held && b->held[i].held)
		return (struct want){true, b->held[i].dev, b->held[i].ino};
	if (op->kind == OP_COVER_DATA) /* the file whose content the plan read */
		return (struct want){true, op->dev, op->ino};
	if (op->node < 0)
		return (struct want){0};
	const struct plan_node *n = &b->plan->nodes[op->node];
	if (!n->exists || strcmp(n->path, op->path) != 0)
		return (struct want){0};
	return (struct want){true, n->dev, n->ino};
}

/* Opens the host side and the sandbox side of `path`; the host side must
 * be the file the plan resolved (`want`, when known), and the two must be
 * the same file unless the sandbox side was just created on our own
 * tmpfs. Without the first check, a directory swapped for another one
 * between planning and here would get the mount, and the planned one,
 * back in place a moment later, none. */
static int open_pair(struct root_builder *b, const char *path, struct want want,
		     int *src_out, int *dst_out, bool *is_dir, ab_error *err)
{
	*src_out = *dst_out = -1;
	int src = open_beneath(b->m.openat2, b->oldroot, rel(path), O_PATH);
	if (src < 0)
		return refuse_path(b, -src, err, "cannot open on the host:", path);
	struct stat s, d;
	if (fstat(src, &s) < 0) {
		close(src);
		return ab_fail_errno(err, errno, "cannot stat %s", path);
	}
	if (want.known && (s.st_dev != want.dev || s.st_ino != want.ino)) {
		close(src);
		*b->failure = BUILTIN_FAIL_REFUSE;
		return ab_fail(err, EXDEV,
			       "%s is no longer the file agentbox resolved (device %u:%u inode %llu now, device %u:%u inode %llu when the policy was resolved); refusing to mount on it\n"
			       "cause: something renamed or replaced it during startup; run again once it is stable",
			       path, major(s.st_dev), minor(s.st_dev), (unsigned long long)s.st_ino,
			       major(want.dev), minor(want.dev), (unsigned long long)want.ino);
	}
	*is_dir = S_ISDIR(s.st_mode);
	int dst = open_target(b, path, *is_dir, err);
	if (dst < 0) {
		close(src);
		return dst;
	}
	if (fstat(dst, &d) < 0) {
		close(src);
		close(dst);
		return ab_fail_errno(err, errno, "cannot stat %s inside the sandbox", path);
	}
	if (!builtin_same_target(&s, &d, is_own(b, d.st_dev))) {
		close(src);
		close(dst);
		*b->failure = BUILTIN_FAIL_REFUSE;
		return ab_fail(err, EXDEV,
			       "%s changed while the sandbox was being built (the host's and the sandbox's view are different files); refusing to mount on it\n"
			       "cause: something renamed or replaced it during startup; run again once it is stable",
			       path);
	}
	if ((S_ISDIR(d.st_mode) != 0) != *is_dir) {
		close(src);
		close(dst);
		*b->failure = BUILTIN_FAIL_REFUSE;
		return ab_fail(err, ENOTDIR, "%s is a %s on the host but not inside the sandbox", path,
			       *is_dir ? "directory" : "file");
	}
	*src_out = src;
	*dst_out = dst;
	return 0;
}

static int op_bind(struct root_builder *b, const struct plan_op *op, bool readonly, ab_error *err)
{
	const char *path = op->path;
	int src, dst;
	bool dir;
	int r = open_pair(b, path, planned(b, op), &src, &dst, &dir, err);
	if (r < 0)
		return r;
	r = mountfd_bind(&b->m, src, dst, true, readonly, path, err);
	close(src);
	close(dst);
	return r;
}

/* The sandbox side of a path to cover (a mask or a block): the same file
 * as on the host (open_pair), and still of the kind the plan expects. */
static int open_cover_target(struct root_builder *b, const struct plan_op *op, bool want_dir,
			     ab_error *err)
{
	const char *path = op->path;
	int src, dst;
	bool dir;
	int r = open_pair(b, path, planned(b, op), &src, &dst, &dir, err);
	if (r < 0)
		return r;
	close(src);
	if (dir == want_dir)
		return dst;
	close(dst);
	if (want_dir)
		return ab_fail(err, ENOTDIR, "cannot hide %s: it is no longer a directory", path);
	return ab_fail(err, EISDIR, "cannot hide %s with a file: it is now a directory", path);
}

/* A mask: a writable tmpfs of its own over a directory to hide, so that
 * the mountpoints of later operations can be made inside it; its
 * OP_REMOUNT_RO, after them, makes it read-only. */
static int op_mask_dir(struct root_builder *b, const struct plan_op *op, ab_error *err)
{
	const char *path = op->path;
	int dst = open_cover_target(b, op, true, err);
	if (dst < 0)
		return dst;
	int mnt = -1;
	int r = mountfd_tmpfs(&b->m, dst, op->mode, path, &mnt, err);
	close(dst);
	if (r == 0)
		r = remember_own(b, mnt, path, err);
	if (r == 0) {
		if (b->n_masks >= sizeof(b->masks) / sizeof(b->masks[0])) {
			r = ab_fail(err, E2BIG, "the policy hides too many directories; simplify it");
		} else {
			b->masks[b->n_masks].path = path;
			b->masks[b->n_masks++].fd = mnt;
			mnt = -1;
		}
	}
	if (mnt >= 0)
		close(mnt);
	return r;
}

static int op_remount_mask(struct root_builder *b, const char *path, ab_error *err)
{
	for (size_t i = 0; i < b->n_masks; i++)
		if (b->masks[i].fd >= 0 && strcmp(b->masks[i].path, path) == 0) {
			int r = mountfd_remount_ro(&b->m, b->masks[i].fd, path, err);
			close(b->masks[i].fd);
			b->masks[i].fd = -1;
			return r;
		}
	return ab_fail(err, EINVAL, "internal error: no mount to make read-only at %s", path);
}

/* An empty read-only directory with `mode` over a path to block: one
 * directory on the scratch root, bound wherever a block needs it (the
 * binds keep it alive once the scratch root is detached). A bind is much
 * cheaper than a tmpfs of its own for every block (no new superblock to
 * set up and tear down), and gives the same: an empty directory on a
 * read-only tmpfs mount that nothing can write into. */
static int op_block_dir(struct root_builder *b, const struct plan_op *op, ab_error *err)
{
	const char *path = op->path;
	char name[32];
	snprintf(name, sizeof(name), "/empty-dir-%04o", op->mode);
	if (mkdir(name, 0700) < 0 && errno != EEXIST)
		return ab_fail_errno(err, errno, "cannot create an empty directory to block %s", path);
	_cleanup_close_ int empty = open(name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (empty < 0 || fchmod(empty, op->mode) < 0)
		return ab_fail_errno(err, errno, "cannot create an empty directory to block %s", path);
	int dst = open_cover_target(b, op, true, err);
	if (dst < 0)
		return dst;
	int r = mountfd_bind(&b->m, empty, dst, false, true, path, err);
	close(dst);
	return r;
}

/* An empty read-only file with `mode` over an existing file: a file on the
 * scratch root (detached with it later, but kept alive by the bind). */
static int op_empty_file(struct root_builder *b, const struct plan_op *op, ab_error *err)
{
	const char *path = op->path;
	unsigned mode = op->mode;
	char name[32];
	snprintf(name, sizeof(name), "/empty-%04o", mode);
	_cleanup_close_ int empty = open(name, O_CREAT | O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (empty < 0 || fchmod(empty, mode) < 0)
		return ab_fail_errno(err, errno, "cannot create an empty file to hide %s", path);
	int dst = open_cover_target(b, op, false, err);
	if (dst < 0)
		return dst;
	int r = mountfd_bind(&b->m, empty, dst, false, true, path, err);
	close(dst);
	return r;
}

/* A read-only file holding op->data over an existing file: written on
 * the scratch root (only this namespace sees it) and bound like an empty
 * file, onto the very file the plan read (planned()). */
static int op_cover_data(struct root_builder *b, const struct plan_op *op, ab_error *err)
{
	const char *path = op->path;
	char name[40];
	snprintf(name, sizeof(name), "/data-%zu", (size_t)(op - b->plan->ops));
	_cleanup_close_ int fd = open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ab_fail_errno(err, errno, "cannot create the copy to put over %s", path);
	for (size_t done = 0; done < op->data_len;) {
		ssize_t n = write(fd, op->data + done, op->data_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ab_fail_errno(err, errno, "cannot write the copy to put over %s", path);
		done += (size_t)n;
	}
	if (fchmod(fd, op->mode) < 0)
		return ab_fail_errno(err, errno, "cannot set the mode of the copy to put over %s", path);
	int dst = open_cover_target(b, op, false, err);
	if (dst < 0)
		return dst;
	int r = mountfd_bind(&b->m, fd, dst, false, true, path, err);
	close(dst);
	return r;
}

static int op_mkpoint(struct root_builder *b, const char *path, bool dir, ab_error *err)
{
	int fd = open_target(b, path, dir, err);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int op_symlink(struct root_builder *b, const char *path, const char *target, ab_error *err)
{
	_cleanup_free_ char *parent = path_parent(path);
	_cleanup_close_ int dir = open_target(b, parent, true, err);
	if (dir < 0)
		return dir;
	const char *name = strrchr(path, '/') + 1;
	if (symlinkat(target, dir, name) < 0 && errno != EEXIST)
		return ab_fail_errno(err, errno, "cannot create the symbolic link %s -> %s", path, target);
	return 0;
}

/* A device node from the host, checked to be the device it claims to be
 * (devices.h says why) on the very fd that gets bound. */
static int bind_device(struct root_builder *b, int devdir, const struct dev_node *d, ab_error *err)
{
	char hostpath[64], where[64];
	snprintf(hostpath, sizeof(hostpath), "dev/%s", d->name);
	snprintf(where, sizeof(where), "/dev/%s", d->name);
	_cleanup_close_ int src = open_beneath(b->m.openat2, b->oldroot, hostpath, O_PATH);
	struct stat st;
	if (src < 0 || fstat(src, &st) < 0)
		return refuse_path(b, src < 0 ? -src : errno, err, "cannot open the host's", where);
	if (dev_node_check(d, &st, err) < 0) {
		*b->failure = BUILTIN_FAIL_REFUSE;
		return -ENODEV;
	}
	int fd = openat(devdir, d->name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
	if (fd >= 0)
		close(fd);
	_cleanup_close_ int dst = open_beneath(b->m.openat2, devdir, d->name, O_PATH);
	if (dst < 0)
		return ab_fail_errno(err, -dst, "cannot create %s", where);
	return mountfd_bind(&b->m, src, dst, false, false, where, err);
}

static int op_dev(struct root_builder *b, ab_error *err)
{
	_cleanup_close_ int target = open_target(b, "/dev", true, err);
	if (target < 0)
		return target;
	/* the new tmpfs's own root, not a path that could be swapped */
	_cleanup_close_ int dev = -1;
	int r = mountfd_tmpfs(&b->m, target, 0755, "/dev", &dev, err);
	if (r == 0)
		r = remember_own(b, dev, "/dev", err);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n_dev_nodes; i++) {
		r = bind_device(b, dev, &dev_nodes[i], err);
		if (r < 0)
			return r;
	}
	static const char *const links[][2] = {
		{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
		{"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
		{"ptmx", "pts/ptmx"},
	};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][1], dev, links[i][0]) < 0)
			return ab_fail_errno(err, errno, "cannot create /dev/%s", links[i][0]);
	if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0)
		return ab_fail_errno(err, errno, "cannot create /dev/pts or /dev/shm");
	_cleanup_close_ int pts = open_beneath(b->m.openat2, dev, "pts", O_PATH);
	_cleanup_close_ int shm = open_beneath(b->m.openat2, dev, "shm", O_PATH);
	if (pts < 0 || shm < 0)
		return ab_fail(err, EIO, "cannot open /dev/pts or /dev/shm");
	/* a private devpts: the command's terminals, not the host's */
	r = mountfd_fs(&b->m, pts, "devpts", "newinstance,ptmxmode=0666,mode=620",
		       MS_NOSUID | MS_NOEXEC, "/dev/pts", NULL, err);
	if (r == 0)
		r = mountfd_tmpfs(&b->m, shm, 01777, "/dev/shm", NULL, err);
	return r;
}

static int op_proc(struct root_builder *b, const char *path, ab_error *err)
{
	_cleanup_close_ int target = open_target(b, path, true, err);
	if (target < 0)
		return target;
	int r = mountfd_fs(&b->m, target, "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC, path,
			   NULL, err);
	if (r < 0)
		*b->failure = BUILTIN_FAIL_PROC;
	return r;
}

/* A knob of the new /proc, bound read-only onto itself; one this kernel
 * lacks needs nothing. */
static int op_proc_knob(struct root_builder *b, const char *path, ab_error *err)
{
	_cleanup_close_ int fd = open_beneath(b->m.openat2, b->newroot, rel(path), O_PATH);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return ab_fail_errno(err, -fd, "cannot open %s", path);
	return mountfd_bind(&b->m, fd, fd, false, true, path, err);
}

static int run_op(struct root_builder *b, const struct plan_op *op, ab_error *err)
{
	switch (op->kind) {
	case OP_ROOT_BIND_RO:
	case OP_ROOT_BIND_RW:
	case OP_ROOT_TMPFS:
		break; /* STEP_ROOT, see builtin_steps */
	case OP_DEV:
		return op_dev(b, err);
	case OP_BIND_RO:
		return op_bind(b, op, true, err);
	case OP_BIND_RW:
	case OP_PIN:
		return op_bind(b, op, false, err);
	case OP_MASK_DIR:
		return op_mask_dir(b, op, err);
	case OP_BLOCK_DIR:
		return op_block_dir(b, op, err);
	case OP_MKDIR:
		return op_mkpoint(b, op->path, true, err);
	case OP_MKFILE:
		return op_mkpoint(b, op->path, false, err);
	case OP_REMOUNT_RO:
		/* the empty root, last of all; otherwise a mask made above */
		if (strcmp(op->path, "/") == 0)
			return mountfd_remount_ro(&b->m, b->newroot, "/", err);
		return op_remount_mask(b, op->path, err);
	case OP_MASK_FILE:
	case OP_BLOCK_FILE:
		return op_empty_file(b, op, err);
	case OP_COVER_DATA:
		return op_cover_data(b, op, err);
	case OP_SYMLINK:
		return op_symlink(b, op->path, op->target, err);
	case OP_PROC:
		return op_proc(b, op->path, err);
	case OP_PROC_KNOB:
		return op_proc_knob(b, op->path, err);
	}
	return ab_fail(err, EINVAL, "unknown plan operation %d", (int)op->kind);
}

/* Scratch root, first pivot, and the sandbox's root at /newroot. */
static int build_base(struct root_builder *b, const struct plan *plan, ab_error *err)
{
	/* Nothing done here may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		*b->failure = BUILTIN_FAIL_HOST;
		return ab_fail_errno(err, errno, "cannot make the mount namespace private");
	}
	if (mount("tmpfs", SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0) {
		*b->failure = BUILTIN_FAIL_HOST;
		return ab_fail_errno(err, errno, "cannot mount a tmpfs in the new mount namespace");
	}
	if (chdir(SCRATCH) < 0 || mkdir(OLDROOT, 0700) < 0 || mkdir(NEWROOT, 0755) < 0)
		return ab_fail_errno(err, errno, "cannot prepare the scratch root");
	if (syscall(SYS_pivot_root, ".", OLDROOT) < 0)
		return ab_fail_errno(err, errno, "cannot pivot into the scratch root");
	if (chdir("/") < 0)
		return ab_fail_errno(err, errno, "cannot enter the scratch root");
	b->oldroot = open("/" OLDROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int target = open("/" NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (b->oldroot < 0 || target < 0) {
		if (target >= 0)
			close(target);
		return ab_fail_errno(err, errno, "cannot open the scratch root");
	}
	int r;
	if (plan->root_readable) {
		r = mountfd_bind(&b->m, b->oldroot, target, true, !plan->root_writable, "/", err);
		if (r == 0) {
			b->newroot = open("/" NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (b->newroot < 0)
				r = ab_fail_errno(err, errno, "cannot open the new root");
		}
	} else {
		r = mountfd_tmpfs(&b->m, target, 0755, "/", &b->newroot, err);
		if (r == 0)
			r = remember_own(b, b->newroot, "/", err);
	}
	close(target);
	if (r < 0)
		return r;
	return 0;
}

static int enter_root(struct root_builder *b, ab_error *err)
{
	if (fchdir(b->newroot) < 0)
		return ab_fail_errno(err, errno, "cannot enter the new root");
	/* The old root (scratch, with the host's tree under it) is stacked on
	 * "." and then detached: nothing of it stays reachable. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return ab_fail_errno(err, errno, "cannot pivot into the new root");
	if (umount2(".", MNT_DETACH) < 0)
		return ab_fail_errno(err, errno, "cannot detach the host's tree");
	if (chdir("/") < 0)
		return ab_fail_errno(err, errno, "cannot enter the new root");
	return 0;
}

static int run_step(struct root_builder *b, const struct plan *plan, const struct step *st,
		    ab_error *err)
{
	switch (st->kind) {
	case STEP_ROOT:
		return build_base(b, plan, err);
	case STEP_OP:
		return run_op(b, &plan->ops[st->op], err);
	case STEP_PIVOT:
		return enter_root(b, err);
	}
	return ab_fail(err, EINVAL, "unknown step %d", (int)st->kind);
}

int builtin_build_root(const struct plan *plan, const bool *skip_op,
		       const struct placeholder_ident *held, bool legacy,
		       enum builtin_failure *failure, ab_error *err)
{
	struct root_builder b = {.plan = plan, .held = held, .oldroot = -1, .newroot = -1,
				 .failure = failure};
	*failure = BUILTIN_FAIL_REFUSE;
	mountfd_init(&b.m, "/" OLDROOT "/proc", legacy);
	struct step *steps = xcalloc(plan->n_ops + 2, sizeof(*steps));
	size_t n = builtin_steps(plan, skip_op, steps);
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = run_step(&b, plan, &steps[i], err);
	free(steps);
	for (size_t i = 0; i < b.n_masks; i++)
		if (b.masks[i].fd >= 0)
			close(b.masks[i].fd);
	if (b.oldroot >= 0)
		close(b.oldroot);
	if (b.newroot >= 0)
		close(b.newroot);
	if (r == 0 && chdir(plan->cwd) < 0) {
		*failure = BUILTIN_FAIL_REFUSE;
		r = ab_fail_errno(err, errno, "cannot enter the working directory %s inside the sandbox",
				  plan->cwd);
	}
	return r;
}
