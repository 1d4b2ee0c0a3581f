/* The host placeholders a plan's creation blocks need (see placeholders.h),
 * acquired before a backend starts and released after it ends, with the
 * janitor that cleans up if agentbox is killed in between. Shared by the
 * backends that mount on host paths. */
#ifndef AB_RUN_BLOCKS_H
#define AB_RUN_BLOCKS_H

#include <stdbool.h>

#include "agentbox.h"
#include "plan/plan.h"
#include "run/placeholders.h"

struct blocks {
	struct placeholder_set *set; /* NULL when the plan blocks nothing */
	bool *skip;                  /* per plan op: a block the user cannot create either */
	int sync_fd;                 /* for the sandbox to hold while it lives, or -1 */
	bool janitor;
};

/* Creates or borrows the placeholders and starts the janitor. With
 * defer_confirm, the caller calls blocks_sandbox_started after spawning
 * the sandbox (the janitor's start then overlaps with the sandbox's
 * setup) and must stop the sandbox if it fails; otherwise this waits for
 * the janitor. */
int blocks_prepare(const struct plan *plan, const char *state_dir, bool defer_confirm,
		   struct blocks *bl, ab_error *err);

/* Closes our copy of sync_fd once the sandbox holds its own, and confirms
 * a deferred janitor. */
int blocks_sandbox_started(struct blocks *bl, ab_error *err);

/* Releases the placeholders and stops the janitor. */
void blocks_finish(struct blocks *bl);

#endif
