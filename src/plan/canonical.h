/* Path canonicalisation that remembers which symbolic links it crossed.
 * Resolution needs both the canonical target (what to mount) and the links
 * on the way (a read-only rule that goes through a link inside a writable
 * area cannot be enforced: the sandbox could re-point the link). */
#ifndef AB_PLAN_CANONICAL_H
#define AB_PLAN_CANONICAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "agentbox.h"

struct crossed_link {
	char *location; /* canonical path of the link itself */
	char *target;   /* its contents */
};

struct canonical {
	char *path;     /* canonical path; a missing tail is appended lexically */
	bool exists;
	bool is_dir;
	/* When it exists: the device and inode found at `path` itself (not
	 * following a link), the identity every backend must find there. */
	dev_t dev;
	ino_t ino;
	char *first_missing; /* shallowest missing component, or NULL */
	struct crossed_link *links;
	size_t n_links;
};

/* `path` must be absolute. Fails only on ELOOP or non-ENOENT lookup
 * errors that make the result meaningless. */
int canonicalize(const char *path, struct canonical *out, ab_error *err);
void canonical_free(struct canonical *c);

/* The canonical form of `dir` (an absolute path without "..", such as
 * $HOME) when it names an existing directory; NULL otherwise. */
char *canonical_existing_dir(const char *dir);

#endif
