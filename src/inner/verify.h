/* The post-start check: inside the finished sandbox, before the command
 * exists, every path the plan mounts on must hold what the plan resolved
 * (plan/expect.h says what that is). Shared by the namespace backends:
 * the built-in engine runs it after its pivot, the bwrap backend's inner
 * stage before anything else.
 *
 * Each path is opened from the sandbox's "/" without following any
 * symbolic link and then looked at through that descriptor, so what is
 * judged is the file a lookup of the path reaches right now, not a
 * second lookup of it. It allocates nothing (the inner stage must not). */
#ifndef AB_INNER_VERIFY_H
#define AB_INNER_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "agentbox.h"
#include "common/open_beneath.h"
#include "plan/expect.h"

/* What a lookup of a path found inside the sandbox. */
struct mount_seen {
	int open_err;           /* errno of the lookup (ELOOP: a link on the way) or of
				   looking at what it found; 0: found */
	mode_t mode;            /* S_IFMT bits and permissions */
	unsigned long long dev, ino, size;
	unsigned rdev_major, rdev_minor;
	bool readonly;          /* the mount it is on is read-only */
	bool tmpfs;             /* the filesystem is a tmpfs */
	int mount_root;         /* 1: the root of a mount; 0: not; -1: this kernel cannot tell */
};

/* Whether `s` is what `e` asks for. When not, `why` (len bytes) says what
 * was found instead, in words. Pure: unit-tested on its own. */
bool mount_expect_met(const struct mount_expect *e, const struct mount_seen *s,
		      char *why, size_t len);

/* Where the lookups start: the sandbox's root, and how this kernel opens
 * without following links. */
struct mount_verifier {
	bool openat2;
	int rootfd;
};

int mount_verifier_open(struct mount_verifier *v, ab_error *err);
void mount_verifier_close(struct mount_verifier *v);

/* Looks up e->path from the sandbox's root (without following links) and
 * checks it. Returns 0, or -EXDEV with err naming the path, what it must
 * be and what was found. */
int mount_verify(const struct mount_verifier *v, const struct mount_expect *e, ab_error *err);

/* mount_verify for each of the n expectations; stops at the first that is
 * not met. */
int mount_verify_all(const struct mount_expect *e, size_t n, ab_error *err);

#endif
