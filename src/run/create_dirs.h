/* --write-create and --cache (policy entries with `create`): `agentbox
 * run` creates each missing directory before the run is planned again, so
 * that the rule binds a directory that exists (run/create_dirs.c). The
 * plan has already refused such a rule inside a hidden or protected area
 * (plan/create_rules.c). */
#ifndef AB_RUN_CREATE_DIRS_H
#define AB_RUN_CREATE_DIRS_H

#include "common/events.h"
#include "policy/policy.h"

/* Creates the missing components of every such rule's directory (mode
 * 0700, by descriptor, refusing a symbolic link on the way); a
 * `created_directory` warning names each directory made. */
int create_dirs_for_rules(const ab_policy *p, const char *home, const struct events *ev,
			  ab_error *err);

#endif
