/* What a project file widens: the difference between the run without it
 * and the run with it (config/widen.c). A project file is untrusted input
 * (it comes with the code being worked on), so on its own it may only
 * narrow; every widening needs the user's consent (config/trust.h). */
#ifndef AB_CONFIG_WIDEN_H
#define AB_CONFIG_WIDEN_H

#include "agentbox.h"
#include "common/util.h"

/* Compares `with` (every layer) against `without` (every layer but the
 * project file) and adds one line per widening to *out:
 *  - a path more accessible (hidden -> read-only -> writable), judged on
 *    the resolved plans, so rules of every kind (special paths, presets,
 *    an "unprotect" of an existing name) are compared by their effect;
 *  - a wider network mode (none < proxy < full);
 *  - under the proxy, an allowed domain pattern `without` lacks;
 *  - a protected name removed;
 *  - the environment policy widened (config_env_widenings below).
 * `cwd` is the run's working directory. Returns 0 or -errno (a plan that
 * cannot be resolved: the caller refuses the run). */
int config_widenings(const ab_policy *without, const ab_policy *with, const char *cwd,
		     strv *out, ab_error *err);

/* The environment policy's part (config/widen_env.c): a wider inherit, a
 * name kept, an include_only pattern added to earlier ones. */
struct env_policy;
void config_env_widenings(const struct env_policy *without, const struct env_policy *with,
			  strv *out);

#endif
