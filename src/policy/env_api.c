/* The library's entry points to the environment policy (agentbox.h,
 * ab_policy_set_env_inherit and ab_policy_add_env_rule). */
#include <errno.h>
#include <string.h>

#include "agentbox.h"
#include "common/error.h"
#include "common/util.h"
#include "policy/policy.h"

int ab_policy_set_env_inherit(ab_policy *p, const char *inherit, ab_error *err)
{
	enum env_inherit v;
	if (!inherit || !env_inherit_parse(inherit, &v))
		return ab_fail(err, EINVAL, "env inherit must be all, core or none, got '%s'",
			       inherit ? inherit : "(null)");
	env_policy_set_inherit(&p->env, v);
	return 0;
}

struct add_args {
	ab_policy *p;
	enum env_list which;
	const char *text;
	ab_error *err;
};

static int add_body(void *ctx)
{
	struct add_args *a = ctx;
	return env_policy_add(&a->p->env, a->which, a->text, NULL, a->err);
}

int ab_policy_add_env_rule(ab_policy *p, const char *kind, const char *text, ab_error *err)
{
	struct add_args a = {.p = p, .text = text, .err = err};
	if (env_list_parse(kind, &a.which) < 0)
		return ab_fail(err, EINVAL, "env rule kind must be exclude, include_only, keep or set, got '%s'",
			       kind ? kind : "(null)");
	if (!text)
		return ab_fail(err, EINVAL, "env %s: no rule given", kind);
	return oom_guarded(add_body, &a, err, "ab_policy_add_env_rule");
}
