/* Deny globs -> hidden plan nodes (plan/deny_globs.c). */
#ifndef AB_PLAN_DENY_GLOBS_H
#define AB_PLAN_DENY_GLOBS_H

#include <stdbool.h>

#include "plan/plan.h"

/* After the rules, protected names and nested repositories: expands the
 * policy's deny globs and the built-in secret set and adds a hidden node
 * per match. E2BIG when the walk reached a bound and the policy does not
 * accept a partial expansion. */
int deny_globs_add_nodes(struct plan *plan, const ab_policy *policy,
			 const struct plan_context *ctx, ab_error *err);
/* Whether the built-in secret set applies: not switched off, the
 * working directory writable, / not. */
bool deny_globs_secret_set_applies(const struct plan *plan, const ab_policy *policy);

#endif
