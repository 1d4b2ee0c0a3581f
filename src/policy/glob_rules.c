/* The deny-glob part of a policy (policy/glob_rules.h). */
#include "policy/glob_rules.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

void policy_globs_init(struct policy_globs *g)
{
	memset(g, 0, sizeof(*g));
	g->limits = (struct glob_limits){
		.depth = GLOB_DEPTH_DEFAULT, .entries = GLOB_ENTRIES_DEFAULT, .ms = GLOB_MS_DEFAULT,
	};
}

static void free_rules(struct glob_rule *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].text);
		free(v[i].origin);
	}
	free(v);
}

void policy_globs_free(struct policy_globs *g)
{
	free_rules(g->deny, g->n_deny);
	free_rules(g->allow, g->n_allow);
	memset(g, 0, sizeof(*g));
}

void policy_globs_add(struct policy_globs *g, bool allow, enum glob_anchor anchor,
		      const char *text, const char *origin)
{
	struct glob_rule **v = allow ? &g->allow : &g->deny;
	size_t *n = allow ? &g->n_allow : &g->n_deny;
	size_t *cap = allow ? &g->cap_allow : &g->cap_deny;
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].anchor == anchor && strcmp((*v)[i].text, text) == 0)
			return;
	char *t = xstrdup(text), *o = xstrdup(origin ? origin : "");
	grow_array((void **)v, cap, *n + 1, sizeof(**v));
	(*v)[(*n)++] = (struct glob_rule){.anchor = anchor, .text = t, .origin = o};
}

void policy_globs_merge(struct policy_globs *dst, const struct policy_globs *src)
{
	for (size_t i = 0; i < src->n_deny; i++)
		policy_globs_add(dst, false, src->deny[i].anchor, src->deny[i].text, src->deny[i].origin);
	for (size_t i = 0; i < src->n_allow; i++)
		policy_globs_add(dst, true, src->allow[i].anchor, src->allow[i].text, src->allow[i].origin);
	if (src->limits_set) {
		dst->limits = src->limits;
		dst->limits_set = true;
	}
	if (src->secrets_set) {
		dst->secrets_off = src->secrets_off;
		dst->secrets_set = true;
	}
	dst->partial |= src->partial;
}

char *glob_rule_spelling(const struct glob_rule *r)
{
	switch (r->anchor) {
	case GLOB_CWD:
		return xasprintf(":cwd/%s", r->text);
	case GLOB_HOME:
		return xasprintf("~/%s", r->text);
	case GLOB_ABSOLUTE:
		break;
	}
	return xstrdup(r->text);
}

int glob_limits_check(const struct glob_limits *l, const char *origin, ab_error *err)
{
	if (l->depth < 1 || l->depth > GLOB_DEPTH_MAX)
		return ab_fail(err, EINVAL, "%s: glob_limits \"depth\" must be from 1 to %d, found %d",
			       origin, GLOB_DEPTH_MAX, l->depth);
	if (l->entries < 1 || l->entries > GLOB_ENTRIES_MAX)
		return ab_fail(err, EINVAL, "%s: glob_limits \"entries\" must be from 1 to %ld, found %ld",
			       origin, GLOB_ENTRIES_MAX, l->entries);
	if (l->ms < 1 || l->ms > GLOB_MS_MAX)
		return ab_fail(err, EINVAL, "%s: glob_limits \"ms\" must be from 1 to %d, found %d",
			       origin, GLOB_MS_MAX, l->ms);
	return 0;
}

static void print_list(sbuf *b, const char *key, const struct glob_rule *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sbuf_addf(b, i ? ", " : ",\n  \"%s\": [", key);
		_cleanup_free_ char *spell = glob_rule_spelling(&v[i]);
		sbuf_add_json_string(b, spell);
	}
	if (n)
		sbuf_add(b, "]");
}

void policy_globs_print_json(const struct policy_globs *g, sbuf *b)
{
	print_list(b, "deny_globs", g->deny, g->n_deny);
	print_list(b, "allow_read", g->allow, g->n_allow);
	if (g->limits_set)
		sbuf_addf(b, ",\n  \"glob_limits\": {\"depth\": %d, \"entries\": %ld, \"ms\": %d}",
			  g->limits.depth, g->limits.entries, g->limits.ms);
	if (g->secrets_set)
		sbuf_addf(b, ",\n  \"default_secret_globs\": %s", g->secrets_off ? "false" : "true");
}
