/* Built-in presets. They only add entries, so a policy file or flags
 * applied afterwards can narrow or widen any of them. */
#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/policy.h"

int policy_apply_preset(ab_policy *p, const char *name, ab_error *err)
{
	return policy_apply_preset_from(p, name, NULL, err);
}

int policy_apply_preset_from(ab_policy *p, const char *name, const char *from, ab_error *err)
{
	char origin[1024];
	if (from)
		snprintf(origin, sizeof(origin), "preset %s (%s)", name ? name : "", from);
	else
		snprintf(origin, sizeof(origin), "preset %s", name ? name : "");
	if (name && strcmp(name, "read-only") == 0) {
		policy_add_entry(p, PP_ROOT, "", AB_ACCESS_READ, origin);
		return 0;
	}
	if (name && strcmp(name, "workspace-write") == 0) {
		policy_add_entry(p, PP_ROOT, "", AB_ACCESS_READ, origin);
		policy_add_entry(p, PP_CWD, "", AB_ACCESS_WRITE, origin);
		policy_add_entry(p, PP_SLASH_TMP, "", AB_ACCESS_WRITE, origin);
		policy_add_entry(p, PP_TMPDIR, "", AB_ACCESS_WRITE, origin);
		return 0;
	}
	if (name && strcmp(name, "full-access") == 0) {
		/* The whole filesystem writable. Protected names are not applied
		 * under "/" itself (see plan/protected.c); network stays as
		 * --net says. */
		policy_add_entry(p, PP_ROOT, "", AB_ACCESS_WRITE, origin);
		return 0;
	}
	return ab_fail(err, EINVAL,
		       "unknown policy preset '%s' (use read-only, workspace-write or full-access)",
		       name ? name : "");
}

static int preset_op(ab_policy *p, void *arg, ab_error *err)
{
	return policy_apply_preset(p, arg, err);
}

/* Up to four entries: all of them or, out of memory, none. */
int ab_policy_apply_preset(ab_policy *p, const char *name, ab_error *err)
{
	return policy_transaction(p, preset_op, (void *)name, "ab_policy_apply_preset", err);
}
