/* What the sandbox must look like once a backend has built it: for every
 * mount the plan asks for on a path, which file the command must find
 * there (device and inode, as resolution saw it) and what kind of mount.
 *
 * Why: a backend that mounts by path (bubblewrap) resolves each path again
 * while it builds the tree. A concurrent writer that swaps a directory for
 * a symbolic link, or for another directory, meanwhile makes a mount land
 * on something else, and a protected path stays writable. The inner stage
 * checks these expectations after the tree is built and before the command
 * exists (inner/verify.h), for every namespace backend. With bwrap they
 * travel on the inner stage's command line (--expect SPEC), so `explain`
 * shows them too. */
#ifndef AB_PLAN_EXPECT_H
#define AB_PLAN_EXPECT_H

#include <stdbool.h>
#include <stddef.h>

#include "plan/plan.h"

enum mount_expect_kind {
	MX_BIND_RO = 'r',    /* the planned file, read-only, the root of a mount */
	MX_BIND_RW = 'w',    /* the planned file, the root of a mount */
	MX_COVER_DIR = 'd',  /* an empty read-only tmpfs mounted over the path (mask, block) */
	MX_COVER_FILE = 'f', /* an empty read-only file mounted over the path (mask, block) */
	MX_COVER_DATA = 'c', /* a read-only regular file on agentbox's own tmpfs
				mounted over the path (OP_COVER_DATA) */
};

struct mount_expect {
	enum mount_expect_kind kind;
	/* dev/ino known: the file a bind must show, or the one a cover must
	 * hide (a block over a path that did not exist has none). */
	bool have_id;
	unsigned long long dev, ino;
	const char *path; /* borrowed from the plan, or from the parsed spec */
};

/* Fills `out` (room for plan->n_ops entries) with one expectation per op
 * that mounts on a path the plan resolved; ops skipped by skip_op (may be
 * NULL) and paths under a fresh /proc (which covers them) have none.
 * Returns the number written. */
size_t plan_mount_expects(const struct plan *plan, const bool *skip_op,
			  struct mount_expect *out);

/* "KIND:DEV:INO:PATH" ("-" for an unknown DEV and INO); allocated. */
char *mount_expect_format(const struct mount_expect *e);

/* The reverse, without allocating: out->path points into `spec`.
 * Returns 0, or -EINVAL for anything else than what format writes. */
int mount_expect_parse(const char *spec, struct mount_expect *out);

#endif
