/* What a project file widens in the environment policy (config/widen.h).
 *
 * Judged on the rules, not on the variables of the moment: consent given
 * today holds for whatever the caller's environment holds tomorrow. A
 * layer's lists only add up (policy/layer.c), so a project file cannot
 * remove an exclude; it widens by choosing a wider inherit, by keeping a
 * name (which passes it over the built-in secret list), or by adding an
 * include_only pattern where earlier layers had some (more names match).
 * "set" is not a widening: the value comes from the file itself, not from
 * the caller's environment, and acts only inside the sandbox. */
#include "config/widen.h"

#include <string.h>

#include "policy/policy.h"

static int inherit_rank(enum env_inherit v)
{
	return v == ENV_INHERIT_ALL ? 2 : v == ENV_INHERIT_CORE ? 1 : 0;
}

static bool has_rule(const struct env_rules *r, const char *text)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].text, text) == 0)
			return true;
	return false;
}

void config_env_widenings(const struct env_policy *without, const struct env_policy *with,
			  strv *out)
{
	if (inherit_rank(with->inherit) > inherit_rank(without->inherit))
		strv_push_owned(out, xasprintf("env inherit %s (without the project file: %s)",
					       env_inherit_name(with->inherit),
					       env_inherit_name(without->inherit)));
	const struct env_rules *k = &with->lists[ENV_KEEP];
	for (size_t i = 0; i < k->n; i++)
		if (!has_rule(&without->lists[ENV_KEEP], k->v[i].text))
			strv_push_owned(out, xasprintf("passes the variable %s from your environment through (env keep), whatever the built-in secret list says",
						       k->v[i].text));
	const struct env_rules *only = &with->lists[ENV_INCLUDE_ONLY];
	if (without->lists[ENV_INCLUDE_ONLY].n == 0)
		return; /* everything passed before: new patterns narrow */
	for (size_t i = 0; i < only->n; i++)
		if (!has_rule(&without->lists[ENV_INCLUDE_ONLY], only->v[i].text))
			strv_push_owned(out, xasprintf("env include_only adds %s", only->v[i].text));
}
