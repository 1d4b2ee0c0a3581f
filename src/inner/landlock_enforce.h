/* The inner stage's one Landlock step: enforcing a ruleset the Landlock
 * backend built (backend/landlock.h) on itself, after no_new_privs and
 * before the exec, so that the command and all it starts inherit it. */
#ifndef AB_INNER_LANDLOCK_ENFORCE_H
#define AB_INNER_LANDLOCK_ENFORCE_H

#include <stdint.h>

#include "agentbox.h"

int landlock_restrict(int ruleset_fd, uint32_t flags, ab_error *err);

#endif
