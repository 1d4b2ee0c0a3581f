/* The library's calls for deny globs (include/agentbox.h): checks, then
 * the change, on a copy of the policy swapped in only when it worked
 * (policy_transaction), like the other policy calls. */
#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/glob_match.h"
#include "policy/policy.h"

int policy_add_deny_glob(ab_policy *p, enum glob_anchor anchor, const char *text,
			 const char *origin, ab_error *err)
{
	if (anchor == GLOB_ABSOLUTE && text[0] != '/')
		return ab_fail(err, EINVAL, "deny pattern '%s' (%s) is relative; write it from / or give it to --deny, which anchors it at the working directory",
			       text, origin);
	struct glob_pattern g;
	int r = glob_compile(text, origin, &g, err);
	if (r < 0)
		return r;
	glob_free(&g);
	policy_globs_add(&p->globs, false, anchor, text, origin);
	return 0;
}

int policy_add_allow_read(ab_policy *p, enum glob_anchor anchor, const char *path,
			  const char *origin, ab_error *err)
{
	if (!*path && anchor == GLOB_ABSOLUTE)
		return ab_fail(err, EINVAL, "--allow-read: the path is empty");
	if (anchor == GLOB_ABSOLUTE && !path_is_absolute(path))
		return ab_fail(err, EINVAL, "--allow-read path '%s' (%s) is relative; write it from /", path, origin);
	if (path_has_dotdot(path))
		return ab_fail(err, EINVAL, "--allow-read path '%s' (%s) has a '..' component; write the path without it",
			       path, origin);
	_cleanup_free_ char *norm = anchor == GLOB_ABSOLUTE ? path_normalize(path) : xstrdup(path);
	policy_globs_add(&p->globs, true, anchor, norm, origin);
	return 0;
}

struct glob_args {
	const char *text;
	bool allow;
};

static int add_op(ab_policy *p, void *arg, ab_error *err)
{
	const struct glob_args *a = arg;
	return a->allow ? policy_add_allow_read(p, GLOB_ABSOLUTE, a->text, "--allow-read", err)
			: policy_add_deny_glob(p, GLOB_ABSOLUTE, a->text, "--deny", err);
}

int ab_policy_add_deny_glob(ab_policy *p, const char *pattern, ab_error *err)
{
	struct glob_args a = {.text = pattern, .allow = false};
	return policy_transaction(p, add_op, &a, "ab_policy_add_deny_glob", err);
}

int ab_policy_allow_read(ab_policy *p, const char *path, ab_error *err)
{
	struct glob_args a = {.text = path, .allow = true};
	return policy_transaction(p, add_op, &a, "ab_policy_allow_read", err);
}

void ab_policy_set_glob_partial(ab_policy *p, bool partial)
{
	p->globs.partial = partial;
}

void ab_policy_set_default_secret_globs(ab_policy *p, bool on)
{
	p->globs.secrets_off = !on;
	p->globs.secrets_set = true;
}

int ab_policy_set_glob_limits(ab_policy *p, int depth, long entries, int ms, ab_error *err)
{
	struct glob_limits l = {.depth = depth, .entries = entries, .ms = ms};
	int r = glob_limits_check(&l, "ab_policy_set_glob_limits", err);
	if (r < 0)
		return r;
	p->globs.limits = l;
	p->globs.limits_set = true;
	return 0;
}
