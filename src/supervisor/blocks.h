/* The host placeholders a plan's creation blocks need (see placeholders.h),
 * acquired before a backend starts and released after its sandbox has
 * ended. Shared by the backends that mount on host paths. */
#ifndef AB_SUPERVISOR_BLOCKS_H
#define AB_SUPERVISOR_BLOCKS_H

#include <stdbool.h>

#include "agentbox.h"
#include "plan/plan.h"
#include "supervisor/placeholders.h"

struct blocks {
	struct placeholder_set *set; /* NULL when the plan blocks nothing */
	bool *skip;                  /* per plan op: a block the user cannot create either */
	struct placeholder_ident *held; /* per plan op: the placeholder a block must cover */
};

/* Creates or shares the placeholders and locks them for this run. */
int blocks_prepare(const struct plan *plan, struct blocks *bl, ab_error *err);

/* Releases the placeholders. Call only once the sandbox is gone: the
 * locks are what keeps other runs from removing them under its mounts. */
void blocks_finish(struct blocks *bl);

#endif
