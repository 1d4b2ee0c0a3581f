/* The plan's credential decisions: each entry of the credential deny set
 * (policy/credential_list.c) that exists on this host and that the plan
 * would show becomes a hidden node, as --deny makes it (an empty
 * directory, an empty unreadable file), unless the user keeps it visible
 * by name (--allow-credentials) or by a rule that names that very path
 * (--read ~/.aws: the explicit rule wins). "~" is $HOME only: the home
 * /etc/passwd gives, where ssh and gpg look, is the same in practice, and
 * a caller that points HOME elsewhere (a test harness, a scratch home)
 * has chosen which home the command gets (README, "Credentials"). The names an entry keeps
 * (~/.ssh/known_hosts, ~/.ssh/config) are reopened read-only below the
 * mask. Each decision is recorded in plan->credentials for the posture
 * and explain.
 *
 * The backends need nothing new: a hidden node is a mask like --deny's,
 * opened without following links and checked against the inode recorded
 * here (plan/expect.h); Landlock hides it by narrowing the rules above it
 * (backend/landlock/landlock_rules.c), which its posture lists. */
#include "plan/plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/util.h"
#include "plan/canonical.h"
#include "plan/stat_memo.h"
#include "policy/policy.h"

static const char *env_get(const struct plan_context *ctx, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; ctx->env && ctx->env[i]; i++)
		if (strncmp(ctx->env[i], name, len) == 0 && ctx->env[i][len] == '=')
			return ctx->env[i] + len + 1;
	return NULL;
}

/* The host paths one table path names for this caller: none when $HOME
 * or the variable is unset or not absolute (a relative value means
 * nothing the sandbox could resolve the same way). */
static void expand(const char *tmpl, const char *home, const struct plan_context *ctx, strv *out)
{
	if (strncmp(tmpl, "~/", 2) == 0) {
		if (home)
			strv_push_owned(out, path_join(home, tmpl + 2));
		return;
	}
	if (tmpl[0] != '$')
		return;
	const char *slash = strchr(tmpl, '/');
	size_t len = slash ? (size_t)(slash - tmpl - 1) : strlen(tmpl + 1);
	_cleanup_free_ char *var = xasprintf("%.*s", (int)len, tmpl + 1);
	const char *value = env_get(ctx, var);
	if (!value)
		return;
	/* KUBECONFIG is a list; no other variable here holds a ':' in
	 * practice, and a path with one is still split into absolute parts */
	_cleanup_free_ char *copy = xstrdup(value);
	char *save = NULL;
	for (char *part = strtok_r(copy, ":", &save); part; part = strtok_r(NULL, ":", &save)) {
		if (!path_is_absolute(part) || path_has_dotdot(part))
			continue;
		_cleanup_free_ char *joined = slash ? xasprintf("%s%s", part, slash) : xstrdup(part);
		strv_push_owned(out, path_normalize(joined));
	}
}

static bool recorded(const struct plan *plan, const char *path)
{
	for (size_t i = 0; i < plan->n_credentials; i++)
		if (strcmp(plan->credentials[i].path, path) == 0)
			return true;
	return false;
}

static void record(struct plan *plan, const char *name, const char *path, bool hidden, const char *why)
{
	grow_array((void **)&plan->credentials, &plan->cap_credentials, plan->n_credentials + 1,
		   sizeof(*plan->credentials));
	plan->credentials[plan->n_credentials++] = (struct plan_credential){
		.name = xstrdup(name), .path = xstrdup(path), .hidden = hidden, .why = xstrdup(why),
	};
}

/* ~/.ssh/known_hosts and the like: reopened read-only in the mask when
 * they are plain files (a link is not followed out of the mask). */
static int keep_readable(struct plan *plan, const struct credential_entry *e, const char *dir,
			 ab_error *err)
{
	for (size_t k = 0; k < CREDENTIAL_MAX_KEEP && e->keep[k]; k++) {
		_cleanup_free_ char *path = path_join(dir, e->keep[k]);
		struct stat st;
		if (memo_lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		_cleanup_free_ char *why = xasprintf("credential deny set: %s kept readable in hidden %s "
						     "(holds no secret; ssh needs it)",
						     e->keep[k], dir);
		int r = plan_add_node_exact(plan, path, AB_ACCESS_READ, NODE_CREDENTIAL, why, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A variable that names "/", the working directory or $HOME (or a
 * directory above them) would hide the work itself: said, not obeyed. */
static bool too_wide(const struct plan *plan, const char *path, const char *home)
{
	return strcmp(path, "/") == 0 || path_is_under(plan->cwd, path) ||
	       (home && path_is_under(home, path));
}

static int hide_one(struct plan *plan, const ab_policy *policy, const struct credential_entry *e,
		    const char *path, bool first, const char *home, ab_error *err)
{
	struct stat st;
	if (memo_lstat(path, &st) < 0)
		return 0; /* absent: nothing to hide, no mount */
	struct canonical c;
	int r = canonicalize(path, &c, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *canon = c.exists ? xstrdup(c.path) : NULL;
	canonical_free(&c);
	if (!canon || recorded(plan, canon))
		return 0;
	if (too_wide(plan, canon, home)) {
		plan_add_warning(plan, "credential_path_too_wide", canon,
				 "credential deny set: %s would hide %s, which holds the working directory or $HOME; "
				 "not hidden (check the variable that names it)",
				 e->name, canon);
		return 0;
	}
	int a = plan_access_at(plan, canon, -1);
	if (a == 0 || a == AB_ACCESS_NONE)
		return 0; /* invisible already: costs nothing */
	int existing = plan_find_node(plan, canon);
	if (existing >= 0 && plan->nodes[existing].source == NODE_RULE) {
		/* the user's rule names this very path: it wins */
		record(plan, e->name, canon, false, plan->nodes[existing].why);
		return 0;
	}
	const char *allowed = policy_credentials_allowed(policy, e->name);
	if (allowed) {
		record(plan, e->name, canon, false, allowed);
		return 0;
	}
	_cleanup_free_ char *why = xasprintf("credential deny set: %s (%s); --allow-credentials %s shows it",
					     e->name, e->why, e->name);
	r = plan_add_node(plan, canon, AB_ACCESS_NONE, NODE_CREDENTIAL, why, err);
	if (r < 0)
		return r;
	record(plan, e->name, canon, true, e->why);
	if (first && S_ISDIR(st.st_mode))
		return keep_readable(plan, e, canon, err);
	return 0;
}

int plan_add_credential_nodes(struct plan *plan, const ab_policy *policy,
			      const struct plan_context *ctx, ab_error *err)
{
	if (!ctx->credentials)
		return 0;
	_cleanup_free_ char *home = canonical_existing_dir(ctx->home);
	int r = 0;
	for (size_t i = 0; r == 0 && ctx->credentials[i].name; i++) {
		const struct credential_entry *e = &ctx->credentials[i];
		for (size_t k = 0; r == 0 && k < CREDENTIAL_MAX_PATHS && e->paths[k]; k++) {
			strv paths = {0};
			expand(e->paths[k], home, ctx, &paths);
			for (size_t p = 0; r == 0 && p < paths.n; p++)
				r = hide_one(plan, policy, e, paths.v[p], k == 0, home, err);
			strv_free(&paths);
		}
	}
	return r;
}

void plan_credentials_free(struct plan *plan)
{
	for (size_t i = 0; i < plan->n_credentials; i++) {
		free(plan->credentials[i].name);
		free(plan->credentials[i].path);
		free(plan->credentials[i].why);
	}
	free(plan->credentials);
	plan->credentials = NULL;
	plan->n_credentials = plan->cap_credentials = 0;
}
