/* The plan's socket decisions: the socket never-list hidden wherever the
 * plan would otherwise show it, and each --allow-unix socket bound in.
 *
 * Both are plan nodes, so the namespace backends need nothing new: a
 * never-list directory becomes an empty read-only tmpfs, a never-list
 * socket an empty read-only file over it, an allowed socket a read-only
 * bind of itself (connect needs no write access to the mount). The
 * backends open every path they mount without following symbolic links
 * and check that they find the inode the plan recorded (plan/expect.h),
 * so a socket swapped for a link or another socket after planning stops
 * the run instead of being bound in. The Landlock backend cannot hide a
 * socket from connect(2) and ignores these nodes (see its posture). */
#include "plan/plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "plan/canonical.h"
#include "plan/stat_memo.h"
#include "policy/policy.h"
#include "supervisor/placeholders.h"

/* A never-list path for this caller, or NULL when it does not apply
 * ($XDG_RUNTIME_DIR unset or relative). */
static char *expand(const char *tmpl, const struct plan_context *ctx)
{
	static const char xdg[] = "$XDG_RUNTIME_DIR";
	if (strncmp(tmpl, xdg, sizeof(xdg) - 1) == 0) {
		const char *dir = ctx->runtime_dir;
		if (!dir || !path_is_absolute(dir))
			return NULL;
		_cleanup_free_ char *joined = xasprintf("%s%s", dir, tmpl + sizeof(xdg) - 1);
		return path_normalize(joined);
	}
	const char *uid = strstr(tmpl, "$UID");
	if (uid)
		return xasprintf("%.*s%u%s", (int)(uid - tmpl), tmpl, (unsigned)ctx->uid, uid + 4);
	return xstrdup(tmpl);
}

static int hide_never_listed(struct plan *plan, const struct socket_never *e,
			     const struct plan_context *ctx, ab_error *err)
{
	_cleanup_free_ char *path = expand(e->path, ctx);
	if (!path)
		return 0;
	struct stat st;
	if (memo_lstat(path, &st) < 0)
		return 0; /* absent: nothing to hide, no mount */
	if (placeholder_is_marked(&st))
		/* an empty placeholder of another agentbox run (one with a
		 * writable /run blocks /run/user/UID for its hidden state
		 * dir): nothing to hide, and it goes when that run ends, so a
		 * node here would make this run fail at mount time */
		return 0;
	struct canonical c;
	int r = canonicalize(path, &c, err);
	if (r < 0)
		return r;
	int a = c.exists ? plan_access_at(plan, c.path, -1) : 0;
	int existing = plan_find_node(plan, c.path);
	bool named = existing >= 0 && plan->nodes[existing].source == NODE_RULE &&
		     plan->nodes[existing].access != AB_ACCESS_NONE;
	if (named)
		plan_add_warning(plan, "socket_never_list", c.path,
				 "%s is on the socket never-list (%s) and stays hidden although %s names it; "
				 "to reach one socket there use --allow-unix with its exact path",
				 c.path, e->why, plan->nodes[existing].why);
	char *canon = xstrdup(c.path);
	canonical_free(&c);
	if (a == 0 || a == AB_ACCESS_NONE) {
		free(canon); /* invisible already: costs nothing */
		return 0;
	}
	_cleanup_free_ char *why = xasprintf("socket never-list: %s", e->why);
	r = plan_add_node(plan, canon, AB_ACCESS_NONE, NODE_SOCKET, why, err);
	/* a rule below reopens part of it (mask_dir): allowed, as a rule
	 * that names its path, but said like --allow-unix's */
	for (size_t i = 0; r >= 0 && i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		if (n->source == NODE_RULE && n->access != AB_ACCESS_NONE &&
		    path_is_under(n->path, canon) && strcmp(n->path, canon) != 0)
			plan_add_warning(plan, "socket_never_list", n->path,
					 "%s makes %s visible inside %s, on the socket never-list (%s)",
					 n->why, n->path, canon, e->why);
	}
	free(canon);
	return r < 0 ? r : 0;
}

/* The never-list entry whose hidden area holds `path`, or NULL. */
static const struct plan_node *never_node_over(const struct plan *plan, const char *path)
{
	const struct plan_node *best = NULL;
	for (size_t i = 0; i < plan->n_nodes; i++) {
		const struct plan_node *n = &plan->nodes[i];
		if (n->source == NODE_SOCKET && path_is_under(path, n->path) &&
		    (!best || strlen(n->path) > strlen(best->path)))
			best = n;
	}
	return best;
}

static int allow_one(struct plan *plan, const struct policy_allow_unix *au, ab_error *err)
{
	struct canonical c;
	int r = canonicalize(au->path, &c, err);
	if (r < 0)
		return r;
	struct stat st;
	if (!c.exists || memo_lstat(c.path, &st) < 0) {
		int e = c.exists ? errno : ENOENT;
		r = ab_fail_errno(err, e,
				  "%s %s: cannot find the socket%s%s\n"
				  "fix: start the server first, or check the path ($SSH_AUTH_SOCK, the database's socket directory)",
				  au->origin, au->path, strcmp(au->path, c.path) ? " at " : "",
				  strcmp(au->path, c.path) ? c.path : "");
		canonical_free(&c);
		return r;
	}
	if (!S_ISSOCK(st.st_mode)) {
		r = ab_fail(err, EINVAL,
			    "%s %s: %s is not a unix socket; --allow-unix takes one socket's exact path "
			    "(to show a directory use --read)",
			    au->origin, au->path, c.path);
		canonical_free(&c);
		return r;
	}
	int existing = plan_find_node(plan, c.path);
	if (existing >= 0 && plan->nodes[existing].access == AB_ACCESS_NONE &&
	    plan->nodes[existing].source != NODE_SOCKET) {
		r = ab_fail(err, EINVAL, "%s %s: %s hides %s; drop one of the two rules",
			    au->origin, au->path, plan->nodes[existing].why, c.path);
		canonical_free(&c);
		return r;
	}
	const struct plan_node *never = never_node_over(plan, c.path);
	if (never)
		plan_add_warning(plan, "allow_unix_never_list", c.path,
				 "%s makes %s reachable although it is on the socket never-list (%s)",
				 au->origin, c.path, never->why + strlen("socket never-list: "));
	if (existing >= 0 && plan->nodes[existing].source == NODE_SOCKET) {
		/* the never-list entry itself: the exact path was asked for */
		struct plan_node *n = &plan->nodes[existing];
		n->access = AB_ACCESS_READ;
		n->source = NODE_SOCKET_ALLOW;
		free(n->why);
		n->why = xasprintf("%s (on the socket never-list)", au->origin);
		canonical_free(&c);
		return 0;
	}
	char *canon = xstrdup(c.path);
	canonical_free(&c);
	/* the posture's never_list_allowed looks for this mark */
	_cleanup_free_ char *why = never ? xasprintf("%s (inside %s, on the socket never-list)",
						     au->origin, never->path)
				  : xstrdup(au->origin);
	r = plan_add_node(plan, canon, AB_ACCESS_READ, NODE_SOCKET_ALLOW, why, err);
	free(canon);
	return r < 0 ? r : 0;
}

int plan_add_socket_nodes(struct plan *plan, const ab_policy *policy,
			  const struct plan_context *ctx, ab_error *err)
{
	for (size_t i = 0; ctx->never_list && ctx->never_list[i].path; i++) {
		int r = hide_never_listed(plan, &ctx->never_list[i], ctx, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < policy->n_allow_unix; i++) {
		int r = allow_one(plan, &policy->allow_unix[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

bool plan_node_is_socket(const struct plan_node *n)
{
	return n->source == NODE_SOCKET || n->source == NODE_SOCKET_ALLOW;
}
