/* Mount primitives that act on file descriptors, never on paths that a
 * racing process could redirect.
 *
 * Every target is an O_PATH descriptor opened with open_beneath() (no
 * symbolic link is followed on the way), and every mount lands on exactly
 * that file. With the new mount API (Linux 5.2: open_tree, move_mount,
 * fsopen; 5.12: mount_setattr) the kernel takes the descriptors directly.
 * Without it, mount(2) is given "<procfs>/self/fd/N", which the kernel
 * resolves to the open file itself rather than to a path; this is the
 * checked fallback. Both are exercised by the tests (AGENTBOX_TEST_LEGACY_MOUNT
 * forces the fallback).
 *
 * These run inside the sandbox's fresh user and mount namespaces, before
 * the command exists. */
#ifndef AB_BACKEND_BUILTIN_MOUNTFD_H
#define AB_BACKEND_BUILTIN_MOUNTFD_H

#include <stdbool.h>
#include <sys/types.h>

#include "agentbox.h"
#include "common/open_beneath.h"

struct mountfd {
	bool new_api;       /* open_tree/move_mount/fsopen/mount_setattr */
	bool openat2;       /* openat2 with RESOLVE_NO_SYMLINKS */
	const char *procfs; /* a path to a procfs mount, for the fallback's magic links */
};

/* Learns what this kernel offers (one cheap probe per feature).
 * force_legacy turns both features off, for tests. */
void mountfd_init(struct mountfd *m, const char *procfs, bool force_legacy);

/* Targets are opened with open_beneath (common/open_beneath.h), passing
 * m->openat2. */

/* Binds what src_fd names onto target_fd, recursively (with every mount
 * below it) when `recursive`, read-only (all of it) when `readonly`. The
 * locked flags of host mounts (nosuid, nodev, noexec) are kept.
 * `where` names the target in error messages. */
int mountfd_bind(const struct mountfd *m, int src_fd, int target_fd, bool recursive,
		 bool readonly, const char *where, ab_error *err);

/* An empty tmpfs with mode `mode` on target_fd (nosuid, nodev). When
 * mnt_out is not NULL it receives an O_PATH fd of the new mount's root:
 * the way to reach exactly that mount later (its device, a remount). */
int mountfd_tmpfs(const struct mountfd *m, int target_fd, unsigned mode, const char *where,
		  int *mnt_out, ab_error *err);

/* A fresh filesystem of type `type` ("proc", "devpts") with `options`
 * (comma separated key=value or flags, may be NULL) on target_fd. */
int mountfd_fs(const struct mountfd *m, int target_fd, const char *type, const char *options,
	       unsigned long flags, const char *where, int *mnt_out, ab_error *err);

/* Makes the mount whose root mnt_fd is read-only (not the mounts below). */
int mountfd_remount_ro(const struct mountfd *m, int mnt_fd, const char *where, ab_error *err);

#endif
