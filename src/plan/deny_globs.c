/* Deny globs -> hidden plan nodes (README "Deny globs").
 *
 * The patterns of the policy and, under a workspace-write run, the
 * built-in secret set (policy/secret_globs.c) are anchored, their literal
 * prefixes made canonical, and expanded by one bounded walk over the
 * prefixes that hold them (plan/glob_walk.c). Each match becomes a node
 * with access none, as `--deny PATH` makes it, so every backend hides it
 * its own way. A walk that could not finish refuses the run (a match it
 * did not reach would stay readable) unless the user accepted a partial
 * expansion (--glob-partial). What is created after the walk is not
 * covered: the posture and explain say so. */
#include "plan/deny_globs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/util.h"
#include "plan/canonical.h"
#include "plan/glob_cache.h"
#include "plan/glob_walk.h"
#include "plan/stat_memo.h"
#include "policy/policy.h"
#include "policy/secret_globs.h"

#define NOTE_MATCHES_MAX 10

struct globs_run {
	struct glob_walk w;
	strv roots;   /* canonical literal prefixes, deduplicated */
	strv allow;   /* canonical --allow-read paths */
	size_t cap_pats;
};

static char *anchored(enum glob_anchor a, const char *text, const char *cwd,
		      const struct plan_context *ctx, const char *origin, ab_error *err)
{
	switch (a) {
	case GLOB_ABSOLUTE:
		return xstrdup(text);
	case GLOB_CWD:
		return *text ? path_join(cwd, text) : xstrdup(cwd);
	case GLOB_HOME:
		if (!ctx->home || !path_is_absolute(ctx->home)) {
			ab_fail(err, EINVAL, "'~/%s' (%s) uses ~ but $HOME is not set to an absolute path; set HOME or write the path out",
				text, origin);
			return NULL;
		}
		return *text ? path_join(ctx->home, text) : xstrdup(ctx->home);
	}
	return NULL;
}

/* Compiles `text` with its literal prefix made canonical (a link on the
 * way, /var/run -> /run, would stop the walk, which follows none). Sets
 * *prefix to that canonical prefix; *prefix NULL: it does not exist, so
 * nothing can match. */
static int compile_canonical(const char *text, const char *label, struct glob_pattern *g,
			     char **prefix, ab_error *err)
{
	*prefix = NULL;
	int r = glob_compile(text, label, g, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *lit = glob_literal_prefix(g);
	struct canonical c;
	r = canonicalize(lit, &c, err);
	if (r < 0) {
		glob_free(g);
		return r;
	}
	if (!c.exists || !c.is_dir) {
		canonical_free(&c);
		return 0;
	}
	size_t k = g->n_literal == g->n && g->n ? g->n - 1 : g->n_literal;
	if (strcmp(c.path, lit) != 0) {
		sbuf t = {0};
		sbuf_add(&t, strcmp(c.path, "/") == 0 ? "" : c.path);
		for (size_t i = k; i < g->n; i++)
			sbuf_addf(&t, "/%s", g->comp[i]);
		glob_free(g);
		r = glob_compile(t.s, label, g, err);
		sbuf_free(&t);
		if (r < 0) {
			canonical_free(&c);
			return r;
		}
	}
	*prefix = c.path;
	c.path = NULL;
	canonical_free(&c);
	return 0;
}

static int add_pattern(struct globs_run *run, const char *text, char *label, bool builtin,
		       ab_error *err)
{
	struct glob_pattern g;
	char *prefix;
	int r = compile_canonical(text, label, &g, &prefix, err);
	if (r < 0) {
		free(label);
		return r;
	}
	struct glob_walk *w = &run->w;
	grow_array((void **)&w->pats, &run->cap_pats, w->n_pats + 1, sizeof(*w->pats));
	w->pats[w->n_pats++] = (struct glob_walk_pattern){.g = g, .label = label, .builtin = builtin};
	if (prefix)
		strv_push_owned(&run->roots, prefix);
	return 0;
}

static int collect(struct globs_run *run, struct plan *plan, const ab_policy *policy,
		   const struct plan_context *ctx, ab_error *err)
{
	const struct policy_globs *pg = &policy->globs;
	for (size_t i = 0; i < pg->n_deny; i++) {
		const struct glob_rule *rule = &pg->deny[i];
		_cleanup_free_ char *spelling = glob_rule_spelling(rule);
		char *label = xasprintf("%s (%s)", spelling, rule->origin);
		_cleanup_free_ char *text = anchored(rule->anchor, rule->text, plan->cwd, ctx, label, err);
		if (!text) {
			free(label);
			return -EINVAL;
		}
		int r = add_pattern(run, text, label, false, err);
		if (r < 0)
			return r;
	}
	/* the secret set: inside the workspace a workspace-write run may
	 * change, not under full access (nothing is hidden there) nor where
	 * the working directory is only read */
	if (deny_globs_secret_set_applies(plan, policy)) {
		for (size_t i = 0; policy_secret_globs[i].pattern; i++) {
			_cleanup_free_ char *text = path_join(plan->cwd, policy_secret_globs[i].pattern);
			char *label = xasprintf(":cwd/%s (built-in secret set: %s)",
						policy_secret_globs[i].pattern, policy_secret_globs[i].why);
			int r = add_pattern(run, text, label, true, err);
			if (r < 0)
				return r;
		}
	}
	for (size_t i = 0; i < pg->n_allow; i++) {
		const struct glob_rule *rule = &pg->allow[i];
		_cleanup_free_ char *text = anchored(rule->anchor, rule->text, plan->cwd, ctx, rule->origin, err);
		if (!text)
			return -EINVAL;
		struct canonical c;
		int r = canonicalize(text, &c, err);
		if (r < 0)
			return r;
		strv_push_owned(&run->allow, c.path);
		c.path = NULL;
		canonical_free(&c);
	}
	return 0;
}

bool deny_globs_secret_set_applies(const struct plan *plan, const ab_policy *policy)
{
	return !policy->globs.secrets_off && plan_access_at(plan, plan->cwd, -1) == AB_ACCESS_WRITE &&
	       plan_access_at(plan, "/", -1) != AB_ACCESS_WRITE;
}

/* Drops roots below another root (one walk covers both) and roots that
 * nothing inside the sandbox can see. */
static void settle_roots(struct globs_run *run, const struct plan *plan)
{
	strv kept = {0};
	for (size_t i = 0; i < run->roots.n; i++) {
		const char *r = run->roots.v[i];
		bool covered = false;
		for (size_t j = 0; j < run->roots.n && !covered; j++)
			covered = j != i && path_is_under(r, run->roots.v[j]) &&
				  (strcmp(r, run->roots.v[j]) != 0 || j < i);
		bool visible = plan_access_at(plan, r, -1) != AB_ACCESS_NONE;
		for (size_t n = 0; n < plan->n_nodes && !visible; n++)
			visible = plan->nodes[n].access != AB_ACCESS_NONE &&
				  path_is_under(plan->nodes[n].path, r);
		if (!covered && visible)
			strv_push(&kept, r);
	}
	strv_free(&run->roots);
	run->roots = kept;
}

static int refuse_partial(const struct globs_run *run, const struct plan *plan, ab_error *err)
{
	const struct glob_walk *w = &run->w;
	sbuf names = {0};
	size_t named = 0, builtin = 0;
	for (size_t i = 0; i < w->n_pats; i++) {
		if (!glob_may_match_below_path(&w->pats[i].g, w->bound_where))
			continue;
		if (w->pats[i].builtin) {
			builtin++;
			continue;
		}
		if (named++ < 3)
			sbuf_addf(&names, "%s%s", names.len ? "; " : "", w->pats[i].label);
	}
	if (named > 3)
		sbuf_addf(&names, "; and %zu more", named - 3);
	if (builtin)
		sbuf_addf(&names, "%sthe built-in secret set under %s (%zu patterns such as **/.env)",
			  names.len ? "; " : "", plan->cwd, builtin);
	int r = ab_fail(err, E2BIG,
			"deny globs could not be fully expanded: the walk reached its bound (%s) at %s after %zu directories and %zu entries; "
			"a match it did not reach would stay readable, so agentbox refuses to run. Patterns concerned: %s\n"
			"fix: narrow the pattern (a longer literal prefix bounds the walk), raise \"glob_limits\" in the policy ({\"depth\": %d, \"entries\": %ld, \"ms\": %d} now), "
			"run in a smaller directory or turn the built-in set off with --no-default-secret-globs, or pass --glob-partial to hide only what the walk found",
			w->bound_what, w->bound_where, w->dirs, w->entries, names.s ? names.s : "(none)",
			w->limits.depth, w->limits.entries, w->limits.ms);
	sbuf_free(&names);
	return r;
}

static int add_nodes(struct plan *plan, struct globs_run *run, ab_error *err)
{
	struct glob_walk *w = &run->w;
	for (size_t i = 0; i < w->n_hits; i++) {
		const struct glob_hit *h = &w->hits[i];
		if (h->is_link || h->allowed)
			continue;
		if (plan_access_at(plan, h->path, -1) == AB_ACCESS_NONE) {
			plan->glob_hidden++; /* a rule hides it already */
			continue;
		}
		/* the user's own rule on this very path decides, as for
		 * protected names (none would otherwise beat it) */
		int named = plan_find_node(plan, h->path);
		if (named >= 0 && plan->nodes[named].source == NODE_RULE) {
			plan_add_note(plan, "%s matches %s but stays %s: a rule names the path itself (%s)",
				      w->pats[h->pattern].label, h->path,
				      ab_access_name(plan->nodes[named].access), plan->nodes[named].why);
			continue;
		}
		_cleanup_free_ char *why = xasprintf("deny glob %s", w->pats[h->pattern].label);
		int idx = plan_add_node_exact(plan, h->path, AB_ACCESS_NONE, NODE_GLOB, why, err);
		if (idx < 0)
			return idx;
		plan->glob_hidden++;
	}
	return 0;
}

/* The matches of the patterns for which `pick` says yes, bounded. */
static void list_matches(sbuf *b, const struct glob_walk *w, bool builtin, size_t only)
{
	size_t shown = 0;
	for (size_t i = 0; i < w->n_hits; i++) {
		const struct glob_hit *h = &w->hits[i];
		if (w->pats[h->pattern].builtin != builtin || (!builtin && h->pattern != only))
			continue;
		if (shown++ < NOTE_MATCHES_MAX)
			sbuf_addf(b, "%s%s%s", shown > 1 ? ", " : ": ", h->path,
				  h->is_link ? " (symbolic link: not hidden, its target keeps its own rules)" :
				  h->allowed ? " (kept visible: --allow-read)" : "");
	}
	if (shown > NOTE_MATCHES_MAX)
		sbuf_addf(b, ", and %zu more", shown - NOTE_MATCHES_MAX);
}

static void add_notes(struct plan *plan, const struct globs_run *run)
{
	const struct glob_walk *w = &run->w;
	size_t builtin = 0, builtin_matches = 0;
	for (size_t p = 0; p < w->n_pats; p++) {
		if (w->pats[p].builtin) {
			builtin++;
			builtin_matches += w->pats[p].matches;
			continue;
		}
		sbuf b = {0};
		list_matches(&b, w, false, p);
		plan_add_note(plan, "deny glob %s: %zu match%s%s", w->pats[p].label, w->pats[p].matches,
			      w->pats[p].matches == 1 ? "" : "es", b.s ? b.s : "");
		sbuf_free(&b);
	}
	if (builtin) {
		sbuf b = {0};
		list_matches(&b, w, true, 0);
		plan_add_note(plan,
			      "built-in secret set (%zu patterns under %s, README \"The default secret set\"; --no-default-secret-globs turns it off, --allow-read PATH keeps one): %zu match%s%s",
			      builtin, plan->cwd, builtin_matches, builtin_matches == 1 ? "" : "es", b.s ? b.s : "");
		sbuf_free(&b);
	}
	sbuf roots = {0};
	for (size_t i = 0; i < run->roots.n; i++)
		sbuf_addf(&roots, "%s%s", i ? ", " : "", run->roots.v[i]);
	plan_add_note(plan,
		      "deny glob walk of %s: %zu directories, %zu entries, %zu trees skipped, %.1f ms%s (bounds: depth %d, %ld entries, %d ms)%s; "
		      "files that match and are created during the run are not hidden",
		      roots.s ? roots.s : "(nothing visible to walk)", w->dirs, w->entries, w->skipped_trees,
		      w->ms, plan->glob_cached ? " (from the cache: every directory it read is unchanged)" : "",
		      w->limits.depth, w->limits.entries, w->limits.ms,
		      w->bound_hit ? ", stopped at its bound (--glob-partial)" : "");
	sbuf_free(&roots);
}

static void run_free(struct globs_run *run)
{
	for (size_t i = 0; i < run->w.n_pats; i++) {
		glob_free(&run->w.pats[i].g);
		free(run->w.pats[i].label);
	}
	free(run->w.pats);
	glob_walk_free(&run->w);
	strv_free(&run->roots);
	strv_free(&run->allow);
}

int deny_globs_add_nodes(struct plan *plan, const ab_policy *policy,
			 const struct plan_context *ctx, ab_error *err)
{
	struct globs_run run = {0};
	run.w.limits = policy->globs.limits;
	run.w.err = err;
	int r = collect(&run, plan, policy, ctx, err);
	if (r < 0 || run.w.n_pats == 0) {
		run_free(&run);
		return r;
	}
	settle_roots(&run, plan);
	run.w.allow = (const char *const *)run.allow.v;
	run.w.n_allow = run.allow.n;
	run.w.start_ms = monotonic_ms();
	char key[65];
	glob_cache_key(&run.w, &run.roots, key);
	bool cached = glob_cache_load(ctx->glob_cache_dir, key, &run.w);
	time_t wall_start = time(NULL);
	for (size_t i = 0; !cached && i < run.roots.n && r == 0 && !run.w.bound_hit; i++)
		r = glob_walk_root(&run.w, run.roots.v[i]);
	run.w.ms = monotonic_ms() - run.w.start_ms;
	if (r == 0 && !cached) {
		glob_cache_save(ctx->glob_cache_dir, key, &run.w, (long long)wall_start);
		/* written just now: what this resolution looked up there before
		 * is out of date (plan/stat_memo.h) */
		if (ctx->glob_cache_dir)
			stat_memo_forget(ctx->glob_cache_dir);
	}
	plan->glob_cached = cached;
	if (r == 0 && run.w.bound_hit && !policy->globs.partial)
		r = refuse_partial(&run, plan, err);
	if (r == 0 && run.w.bound_hit)
		plan_add_warning(plan, "glob_partial", run.w.bound_where,
				 "the deny glob walk stopped at %s (%s); matches it did not reach are not hidden (--glob-partial)",
				 run.w.bound_where, run.w.bound_what);
	if (r == 0)
		r = add_nodes(plan, &run, err);
	if (r == 0) {
		plan->glob_patterns = run.w.n_pats;
		plan->glob_partial = run.w.bound_hit;
		plan->glob_entries = run.w.entries;
		plan->glob_ms = run.w.ms;
		add_notes(plan, &run);
	}
	run_free(&run);
	return r;
}
