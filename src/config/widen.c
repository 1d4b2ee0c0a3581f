/* The widening classifier (config/widen.h).
 *
 * The filesystem comparison runs on resolved plans, not on the rules: a
 * rule's effect depends on every other rule (the most specific wins) and
 * on the host (special paths, links, protected names). Each plan gives
 * every path the access of its nearest node, so comparing the two plans
 * at every node path of either (and at /) compares them everywhere: any
 * other path has the same nearest node, in both plans, as one of those. */
#include "config/widen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "plan/plan.h"
#include "policy/policy.h"
#include "run/state_dir.h"

/* hidden < read-only < writable */
static int access_rank(int a)
{
	return a == AB_ACCESS_WRITE ? 2 : a == AB_ACCESS_READ ? 1 : 0;
}

static const char *rank_name(int r)
{
	return r == 2 ? "writable" : r == 1 ? "read-only" : "hidden";
}

static int net_rank(ab_net n)
{
	return n == AB_NET_FULL ? 2 : n == AB_NET_PROXY ? 1 : 0;
}

struct wider {
	const char *path;
	int before, after;
	const char *why;
};

static void compare_at(const struct plan *without, const struct plan *with, const char *path,
		       struct wider **w, size_t *n, size_t *cap)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*w)[i].path, path) == 0)
			return;
	int before = access_rank(plan_access_at(without, path, -1));
	int after = access_rank(plan_access_at(with, path, -1));
	if (after <= before)
		return;
	int at = plan_node_at(with, path, -1);
	grow_array((void **)w, cap, *n + 1, sizeof(**w));
	(*w)[(*n)++] = (struct wider){path, before, after, at >= 0 ? with->nodes[at].why : "?"};
}

/* Whether w is inside a path already reported as at least as open: the
 * protected names below a newly writable root, say, need no line each. */
static bool covered(const struct wider *all, size_t n, const struct wider *w)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(all[i].path);
		bool above = strcmp(all[i].path, "/") == 0 ? strcmp(w->path, "/") != 0 :
			     strncmp(w->path, all[i].path, len) == 0 && w->path[len] == '/';
		if (above && all[i].after >= w->after)
			return true;
	}
	return false;
}

static int compare_plans(const ab_policy *without, const ab_policy *with, const char *cwd,
			 strv *out, ab_error *err)
{
	/* The deny glob walk and the nested-repository scan through the
	 * run's own caches: both plans walk the same workspace as the run
	 * will, and without the caches every run in a project with a project
	 * file walked it twice more (+70 ms on 20,000 files). No state
	 * directory: no cache, as for a run. */
	char *state = NULL;
	ab_error ignored;
	const char *nocache = getenv("AGENTBOX_GLOB_CACHE");
	if ((nocache && strcmp(nocache, "0") == 0) || state_dir_get(&state, &ignored) < 0)
		state = NULL;
	struct plan_context ctx = {
		.cwd = cwd,
		.home = getenv("HOME"),
		.tmpdir = getenv("TMPDIR"),
		/* a project file that allows credentials shows hidden paths */
		.credentials = policy_credential_list,
		.env = (const char *const *)environ,
		.glob_cache_dir = state,
	};
	struct plan a = {0}, b = {0};
	int r = plan_resolve(without, &ctx, &a, err);
	if (r < 0) {
		ab_error_hint(err, "while resolving the configuration without the project file (to compare it with the project file's)");
		plan_free(&a);
		free(state);
		return r;
	}
	r = plan_resolve(with, &ctx, &b, err);
	free(state);
	if (r < 0) {
		plan_free(&a);
		plan_free(&b);
		return r;
	}
	struct wider *w = NULL;
	size_t n = 0, cap = 0;
	compare_at(&a, &b, "/", &w, &n, &cap);
	for (size_t i = 0; i < b.n_nodes; i++)
		compare_at(&a, &b, b.nodes[i].path, &w, &n, &cap);
	for (size_t i = 0; i < a.n_nodes; i++)
		compare_at(&a, &b, a.nodes[i].path, &w, &n, &cap);
	for (size_t i = 0; i < n; i++)
		if (!covered(w, n, &w[i]))
			strv_push_owned(out, xasprintf("%s becomes %s (without the project file: %s), by %s",
						       w[i].path, rank_name(w[i].after),
						       rank_name(w[i].before), w[i].why));
	free(w);
	plan_free(&a);
	plan_free(&b);
	return 0;
}

static bool has_pattern(const struct domain_pattern *list, size_t n, const char *text)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].text, text) == 0)
			return true;
	return false;
}

static bool has_name(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

int config_widenings(const ab_policy *without, const ab_policy *with, const char *cwd,
		     strv *out, ab_error *err)
{
	int r = compare_plans(without, with, cwd, out, err);
	if (r < 0)
		return r;
	if (net_rank(with->net) > net_rank(without->net))
		strv_push_owned(out, xasprintf("network mode %s (without the project file: %s)",
					       ab_net_name(with->net), ab_net_name(without->net)));
	/* more allowed destinations widen only a proxy that was there
	 * already: from none they come with the mode above, and under full
	 * network the proxy's rules narrow */
	if (with->net == AB_NET_PROXY && without->net == AB_NET_PROXY) {
		const struct domain_rules *d = &with->domains, *o = &without->domains;
		for (size_t i = 0; i < d->n_allow; i++)
			if (!has_pattern(o->allow, o->n_allow, d->allow[i].text))
				strv_push_owned(out, xasprintf("allows the domain %s", d->allow[i].text));
	}
	for (size_t i = 0; i < without->n_protect; i++)
		if (!has_name(with->protect, with->n_protect, without->protect[i]))
			strv_push_owned(out, xasprintf("unprotects %s (no longer kept read-only under writable roots)",
						       without->protect[i]));
	config_env_widenings(&without->env, &with->env, out);
	return 0;
}
