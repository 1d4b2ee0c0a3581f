#include "backend/builtin/builtin_steps.h"

#include <string.h>

static bool is_root_op(const struct plan_op *op)
{
	return op->kind == OP_ROOT_BIND_RO || op->kind == OP_ROOT_BIND_RW ||
	       op->kind == OP_ROOT_TMPFS;
}

size_t builtin_steps(const struct plan *plan, const bool *skip_op, struct step *out)
{
	size_t n = 0;
	out[n++] = (struct step){STEP_ROOT, 0};
	for (size_t i = 0; i < plan->n_ops; i++) {
		const struct plan_op *op = &plan->ops[i];
		if (is_root_op(op) || (skip_op && skip_op[i]))
			continue;
		out[n++] = (struct step){STEP_OP, i};
	}
	out[n++] = (struct step){STEP_PIVOT, 0};
	return n;
}

enum component_action builtin_component_action(bool found, const struct stat *st, bool last,
					       bool parent_own)
{
	if (!found)
		return parent_own ? COMP_CREATE : COMP_REFUSE_MISSING;
	if (S_ISLNK(st->st_mode))
		return COMP_REFUSE_SYMLINK;
	if (!last && !S_ISDIR(st->st_mode))
		return COMP_REFUSE_NOTDIR;
	return COMP_DESCEND;
}

bool builtin_same_target(const struct stat *src, const struct stat *dst, bool dst_own)
{
	if (dst_own)
		return true;
	return src->st_dev == dst->st_dev && src->st_ino == dst->st_ino;
}
