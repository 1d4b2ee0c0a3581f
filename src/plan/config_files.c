/* agentbox's own configuration files (each --policy-file, the
 * --approvals-save file, the discovered user configuration directory and
 * project file): the sandboxed command must not be able to change what
 * the next run obeys.
 *
 * A file the plan leaves writable is refused rather than bound read-only
 * for this run: it may already have been rewritten by an earlier run that
 * did not protect it, and it would be writable again in the next run that
 * does not name it. Inside a writable root, the place that stays
 * accepted is below a protected name such as .agentbox/ directly under
 * the root: every run keeps it read-only (its node decides the access
 * there, so it is not WRITE), and no sandbox can have changed it.
 * A file that is read-only anyway gets a node of its own, so that
 * `explain` names it and the reason; it costs no mount (its access equals
 * its parent's, plan/order.c). A hidden one stays hidden.
 *
 * The places agentbox discovers configuration in (its user configuration
 * directory, a project's .agentbox/policy.json that does not exist) are
 * `block` entries instead: every run makes them read-only, or blocks
 * their creation when missing, rather than refusing to run, since the
 * user named none of them. */
#include "plan/plan.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "plan/canonical.h"

/* A READ node over a discovered place: an existing one is bound
 * read-only (or, an empty placeholder, blocked again); a missing one is
 * blocked as an empty read-only directory at its blocking point. */
static int keep_place(struct plan *plan, const struct plan_config_file *cf,
		      const struct canonical *c, ab_error *err)
{
	_cleanup_free_ char *why = xasprintf("agentbox configuration (%s), kept read-only%s",
					     cf->option, c->exists ? "" : " and uncreatable");
	_cleanup_free_ char *point = c->exists ? xstrdup(c->path) :
		plan_blocking_point(plan, c->first_missing ? c->first_missing : c->path);
	int r = plan_add_node(plan, point, AB_ACCESS_READ, NODE_CONFIG, why, err);
	if (r < 0)
		return r;
	if (plan->nodes[r].access != AB_ACCESS_READ)
		/* a rule names that very component writable (another run's
		 * placeholder stood there): nothing can be kept, so refuse */
		return ab_fail(err, EPERM,
			       "%s %s cannot be kept from being created: a rule makes %s writable (%s)\n"
			       "fix: drop that rule, or wait for the other agentbox run to end",
			       cf->option, cf->path, point, plan->nodes[r].why);
	/* blocked as a directory, as protected names are: what lies below
	 * reads as missing (ENOENT), not as "not a directory" */
	plan->nodes[r].protected_name = true;
	if (!plan->nodes[r].exists)
		plan->nodes[r].is_dir = true;
	return 0;
}

static int check_one(struct plan *plan, const struct plan_config_file *cf, ab_error *err)
{
	struct canonical c;
	int r = canonicalize(cf->path, &c, err);
	if (r < 0) {
		ab_error_hint(err, "while checking %s %s", cf->option, cf->path);
		return r;
	}
	for (size_t l = 0; l < c.n_links; l++) {
		if (plan_access_at(plan, c.links[l].location, -1) != AB_ACCESS_WRITE)
			continue;
		r = ab_fail(err, ELOOP,
			    "%s %s goes through the symbolic link %s (to '%s'), which lies in a writable area: the sandboxed command could re-point it at a configuration of its choice\n"
			    "fix: name the file by its real path, or move it to a directory outside the writable roots",
			    cf->option, cf->path, c.links[l].location, c.links[l].target);
		canonical_free(&c);
		return r;
	}
	int at = plan_node_at(plan, c.path, -1);
	ab_access a = at < 0 ? AB_ACCESS_NONE : plan->nodes[at].access;
	/* a rule naming the place itself writable is the user's explicit
	 * choice: refused below, since a node cannot be both */
	bool named = at >= 0 && strcmp(plan->nodes[at].path, c.path) == 0;
	if (a == AB_ACCESS_WRITE && cf->block && !named) {
		/* agentbox's own directory, or a place where a discovered
		 * file would be found: read-only (or, missing, uncreatable)
		 * for this run, as in every run */
		r = keep_place(plan, cf, &c, err);
		canonical_free(&c);
		return r;
	}
	if (a == AB_ACCESS_WRITE) {
		bool same = strcmp(cf->path, c.path) == 0;
		r = ab_fail(err, EPERM,
			    "%s %s%s%s%s lies inside %s, which this run makes writable (%s): the sandboxed command could rewrite the configuration agentbox obeys next time, and an earlier run may already have done so\n"
			    "fix: move the file to .agentbox/ directly under that directory (kept read-only in every run), or outside every writable root",
			    cf->option, cf->path, same ? "" : " (", same ? "" : c.path, same ? "" : ")",
			    plan->nodes[at].path, plan->nodes[at].why);
		canonical_free(&c);
		return r;
	}
	bool exists = c.exists;
	canonical_free(&c);
	if (a == AB_ACCESS_NONE)
		return 0; /* hidden: neither readable nor writable inside */
	if (cf->block && !exists)
		return 0; /* a place that is not there and cannot be created */
	_cleanup_free_ char *why = xasprintf("agentbox configuration (%s)", cf->option);
	r = plan_add_node(plan, cf->path, AB_ACCESS_READ, NODE_CONFIG, why, err);
	return r < 0 ? r : 0;
}

int plan_add_config_files(struct plan *plan, const struct plan_context *ctx, ab_error *err)
{
	/* Full access ("/" writable) protects nothing: the command can
	 * rewrite any file agentbox or anything else reads. */
	if (plan_access_at(plan, "/", -1) == AB_ACCESS_WRITE)
		return 0;
	for (size_t i = 0; i < ctx->n_config_files; i++) {
		int r = check_one(plan, &ctx->config_files[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}
