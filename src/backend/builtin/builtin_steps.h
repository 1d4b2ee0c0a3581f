/* The built-in engine's decisions that need no kernel: in which order the
 * plan's operations run, and what to do at each path component on the way
 * to a mount target. Kept pure so that the unit tests can pin them down;
 * builtin_root.c performs them. */
#ifndef AB_BACKEND_BUILTIN_STEPS_H
#define AB_BACKEND_BUILTIN_STEPS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "plan/plan.h"

enum step_kind {
	STEP_ROOT,      /* the sandbox's / : a bind of the host's, or an empty tmpfs */
	STEP_OP,        /* plan->ops[op], in the plan's order (/proc and the
			   empty root's final remount included) */
	STEP_PIVOT,     /* pivot_root into it and detach the host's tree */
};

struct step {
	enum step_kind kind;
	size_t op; /* STEP_OP only */
};

/* Fills `out` (room for plan->n_ops + 2) and returns the number of steps.
 * The root ops become STEP_ROOT, skipped ops are left out; the rest keep
 * the plan's order. */
size_t builtin_steps(const struct plan *plan, const bool *skip_op, struct step *out);

/* What to do with one component on the way to a target inside the new
 * root. `found` is whether it exists, `st` its lstat (when found),
 * `parent_own` whether its parent lies on a tmpfs this run made. */
enum component_action {
	COMP_DESCEND,        /* an existing directory (or the final target): go on */
	COMP_CREATE,         /* missing on our own tmpfs: create it */
	COMP_REFUSE_MISSING, /* missing on a host filesystem: never create there */
	COMP_REFUSE_SYMLINK, /* a symbolic link: refuse, never follow */
	COMP_REFUSE_NOTDIR,  /* not a directory but not the last component */
};
enum component_action builtin_component_action(bool found, const struct stat *st, bool last,
					       bool parent_own);

/* Whether a mount may land on `dst` (the sandbox's view) for host source
 * `src`: the same file, or something this run created on its own tmpfs. */
bool builtin_same_target(const struct stat *src, const struct stat *dst, bool dst_own);

#endif
