/* Rules whose directory `agentbox run` creates when it is missing
 * (--write-create, "write+create", --cache): such a rule is for a place
 * of the user's own, never a way into something the policy hides or
 * protects. A cache variable pointing into ~/.ssh or a .git, or a --deny
 * or protected name around the directory, refuses the run before
 * anything is created (run/create_dirs.c plans first). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "plan/canonical.h"
#include "plan/plan.h"
#include "policy/policy.h"

static bool guards(const struct plan_node *n)
{
	switch (n->source) {
	case NODE_PROTECTED:
	case NODE_GITDIR:
	case NODE_CONFIG:
	case NODE_STATE:
	case NODE_KERNEL:
	case NODE_SOCKET:
	case NODE_SOCKET_ALLOW:
	case NODE_SELF:
		return true;
	default:
		return n->access == AB_ACCESS_NONE;
	}
}

/* The protected name that is a component (or, for .config/fish, a run of
 * components) of path, or NULL. */
static const char *protected_component(const ab_policy *policy, const char *path)
{
	_cleanup_free_ char *slashed = xasprintf("%s/", path);
	for (size_t i = 0; i < policy->n_protect; i++) {
		_cleanup_free_ char *needle = xasprintf("/%s/", policy->protect[i]);
		if (strstr(slashed, needle))
			return policy->protect[i];
	}
	return NULL;
}

static int refuse(ab_error *err, const char *origin, const char *spelling, const char *path,
		  const char *what)
{
	_cleanup_free_ char *named = strcmp(spelling, path) == 0 ? xstrdup(path)
							      : xasprintf("%s (%s)", spelling, path);
	return ab_fail(err, EACCES,
		       "%s: refusing to make %s a writable directory: %s\n"
		       "fix: drop %s, or move the directory elsewhere (for --cache, the tool's own variable "
		       "names it; README: \"Writable caches\")",
		       origin, named, what, origin);
}

static int check_one(struct plan *plan, const ab_policy *policy, const struct policy_entry *e,
		     const char *path, ab_error *err)
{
	_cleanup_free_ char *spelling = policy_entry_spelling(e);
	const char *origin = *e->origin ? e->origin : "--write-create";
	const char *name = protected_component(policy, path);
	if (name) {
		_cleanup_free_ char *what = xasprintf("\"%s\" is a protected name, kept read-only", name);
		return refuse(err, origin, spelling, path, what);
	}
	int own = plan_find_node(plan, path);
	if (own >= 0) {
		const struct plan_node *n = &plan->nodes[own];
		if (n->access != AB_ACCESS_WRITE || n->source != NODE_RULE) {
			_cleanup_free_ char *what = xasprintf("%s decides this very path (%s)",
							      n->why, ab_access_name(n->access));
			return refuse(err, origin, spelling, path, what);
		}
	}
	int cover = plan_node_at(plan, path, own);
	if (cover >= 0 && guards(&plan->nodes[cover])) {
		const struct plan_node *n = &plan->nodes[cover];
		_cleanup_free_ char *what = xasprintf("it lies inside %s, %s by %s", n->path,
						      n->access == AB_ACCESS_NONE ? "hidden" : "protected",
						      n->why);
		return refuse(err, origin, spelling, path, what);
	}
	return 0;
}

int plan_check_create_rules(struct plan *plan, const ab_policy *policy,
			    const struct plan_context *ctx, ab_error *err)
{
	for (size_t i = 0; i < policy->n_entries; i++) {
		const struct policy_entry *e = &policy->entries[i];
		if (!e->create)
			continue;
		_cleanup_free_ char *path = NULL;
		int r = plan_entry_path(e, ctx, &path, err);
		if (r < 0)
			return r;
		if (!path)
			continue;
		struct canonical c;
		if ((r = canonicalize(path, &c, err)) < 0)
			return r;
		r = check_one(plan, policy, e, c.path, err);
		canonical_free(&c);
		if (r < 0)
			return r;
	}
	return 0;
}
