/* The blocking run shared by ab_run and the started runs of ab_start
 * (run/child.c). */
#ifndef AB_RUN_RUN_H
#define AB_RUN_RUN_H

#include "agentbox.h"
#include "supervisor/supervisor.h"

/* ab_run on options already accepted (run_options_accept: full size),
 * with ab_start's hooks or NULL. */
int run_full(const ab_policy *p, const ab_run_options *o, char *const argv[], int *exit_status,
	     const struct run_hooks *hooks, ab_error *err);

#endif
