/* The environment policy's rules and their evaluation (env_policy.h). */
#include "policy/env_policy.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"

static const char *const list_flag[] = {
	[ENV_EXCLUDE] = "--env-exclude", [ENV_INCLUDE_ONLY] = "--env-include-only",
	[ENV_KEEP] = "--env-keep", [ENV_SET] = "--env-set",
};

static const char *const kinds[] = {
	[ENV_EXCLUDE] = "exclude", [ENV_INCLUDE_ONLY] = "include_only",
	[ENV_KEEP] = "keep", [ENV_SET] = "set",
};

int env_list_parse(const char *kind, enum env_list *out)
{
	for (int i = 0; kind && i < 4; i++)
		if (strcmp(kind, kinds[i]) == 0) {
			*out = (enum env_list)i;
			return 0;
		}
	return -EINVAL;
}

bool env_inherit_parse(const char *word, enum env_inherit *out)
{
	static const char *const names[] = {"all", "core", "none"};
	for (int i = 0; i < 3; i++)
		if (strcmp(word, names[i]) == 0) {
			*out = (enum env_inherit)i;
			return true;
		}
	return false;
}

const char *env_inherit_name(enum env_inherit v)
{
	return v == ENV_INHERIT_NONE ? "none" : v == ENV_INHERIT_CORE ? "core" : "all";
}

bool env_pattern_match(const char *pattern, const char *name)
{
	return fnmatch(pattern, name, FNM_CASEFOLD) == 0;
}

static size_t name_len(const char *entry)
{
	return strcspn(entry, "=");
}

/* The rule of `r` whose name (up to '=' for set) equals that of text. */
static struct env_rule *find_rule(struct env_rules *r, const char *text, bool by_name)
{
	size_t len = by_name ? name_len(text) : strlen(text);
	for (size_t i = 0; i < r->n; i++) {
		const char *t = r->v[i].text;
		size_t tl = by_name ? name_len(t) : strlen(t);
		if (tl == len && strncmp(t, text, len) == 0)
			return &r->v[i];
	}
	return NULL;
}

/* Allocates first and changes r last: out of memory under oom_guarded()
 * leaves r as it was. */
static void push_rule(struct env_rules *r, const char *text, const char *origin)
{
	char *o = xstrdup(origin);
	struct env_rule *old = find_rule(r, text, false);
	if (old) { /* the same rule again: keep one, with the later origin */
		free(old->origin);
		old->origin = o;
		return;
	}
	char *t = xstrdup(text);
	grow_array((void **)&r->v, &r->cap, r->n + 1, sizeof(*r->v));
	r->v[r->n].text = t;
	r->v[r->n++].origin = o;
}

/* NAME=VALUE: the last value for a name wins. */
static void push_set(struct env_rules *r, const char *text, const char *origin)
{
	struct env_rule *old = find_rule(r, text, true);
	if (old) {
		char *t = xstrdup(text), *o = xstrdup(origin);
		free(old->text);
		free(old->origin);
		old->text = t;
		old->origin = o;
		return;
	}
	push_rule(r, text, origin);
}

int env_policy_add(struct env_policy *ep, enum env_list which, const char *text,
		   const char *origin, ab_error *err)
{
	const char *from = origin ? origin : list_flag[which];
	size_t len = name_len(text);
	if (len == 0)
		return ab_fail(err, EINVAL, "%s: an empty variable name%s", from,
			       which == ENV_SET ? " (write NAME=VALUE)" : "");
	if (len > 256)
		return ab_fail(err, EINVAL, "%s: a variable name or pattern longer than 256 characters", from);
	if (which == ENV_SET) {
		if (text[len] != '=')
			return ab_fail(err, EINVAL, "%s '%s': write NAME=VALUE (an empty value is NAME=)", from, text);
		if (strncmp(text, "AGENTBOX_", 9) == 0) {
			ab_fail(err, EINVAL, "%s: %.*s is agentbox's own variable; the policy cannot set it", from,
				(int)len, text);
			ab_error_hint(err, "agentbox sets AGENTBOX_SANDBOX and AGENTBOX_NETWORK inside itself; choose another name");
			return -EINVAL;
		}
		push_set(&ep->lists[ENV_SET], text, from);
		return 0;
	}
	if (text[len] == '=')
		return ab_fail(err, EINVAL, "%s '%s': a %s, without '=' (use --env-set NAME=VALUE to give a value)",
			       from, text, which == ENV_KEEP ? "variable name" : "name pattern");
	if (which == ENV_KEEP && strpbrk(text, "*?["))
		return ab_fail(err, EINVAL, "%s '%s': keep takes an exact variable name, not a pattern (each secret kept is named on purpose)",
			       from, text);
	push_rule(&ep->lists[which], text, from);
	return 0;
}

void env_policy_set_inherit(struct env_policy *ep, enum env_inherit v)
{
	ep->inherit = v;
	ep->inherit_set = true;
}

void env_policy_merge(struct env_policy *dst, const struct env_policy *src)
{
	if (src->inherit_set)
		env_policy_set_inherit(dst, src->inherit);
	for (int l = 0; l < 4; l++)
		for (size_t i = 0; i < src->lists[l].n; i++) {
			const struct env_rule *r = &src->lists[l].v[i];
			if (l == ENV_SET)
				push_set(&dst->lists[l], r->text, r->origin);
			else
				push_rule(&dst->lists[l], r->text, r->origin);
		}
}

void env_policy_free(struct env_policy *ep)
{
	for (int l = 0; l < 4; l++) {
		for (size_t i = 0; i < ep->lists[l].n; i++) {
			free(ep->lists[l].v[i].text);
			free(ep->lists[l].v[i].origin);
		}
		free(ep->lists[l].v);
	}
	memset(ep, 0, sizeof(*ep));
}

/* --- evaluation --- */

struct eval {
	const struct env_policy *ep;
	const struct env_context *ctx;
	struct env_result *out;
	sbuf why;
};

static bool matches_any(const char *const *patterns, const char *name)
{
	for (size_t i = 0; patterns[i]; i++)
		if (env_pattern_match(patterns[i], name))
			return true;
	return false;
}

static const struct env_secret *secret_match(const struct env_secret *t, const char *name)
{
	for (size_t i = 0; t[i].pattern; i++)
		if (env_pattern_match(t[i].pattern, name))
			return &t[i];
	return NULL;
}

/* scheme://user:password@host: the value carries a password whatever
 * the name (DATABASE_URL, REDIS_URL, a proxy URL ...). */
static bool url_with_password(const char *value)
{
	const char *p = strstr(value, "://");
	if (!p || p == value)
		return false;
	for (const char *s = value; s < p; s++)
		if (!(('a' <= (*s | 32) && (*s | 32) <= 'z') || ('0' <= *s && *s <= '9') ||
		      *s == '+' || *s == '.' || *s == '-'))
			return false;
	size_t auth = strcspn(p + 3, "/?#@");
	return p[3 + auth] == '@' && memchr(p + 3, ':', auth) != NULL;
}

static bool socket_allowed(const struct env_context *ctx, const char *value)
{
	for (size_t i = 0; i < ctx->n_allow_unix; i++)
		if (strcmp(ctx->allow_unix[i], value) == 0)
			return true;
	return false;
}

/* Why steps 1-4 drop `entry`, or NULL (the reason lives in e->why). */
static const char *drop_reason(struct eval *e, const char *entry, const char *name)
{
	const struct env_policy *ep = e->ep;
	const char *value = entry + strlen(name) + 1;
	sbuf *w = &e->why;
	w->len = 0;
	if (w->s)
		w->s[0] = '\0';
	if (ep->inherit == ENV_INHERIT_NONE) {
		sbuf_add(w, "inherit none");
		return w->s;
	}
	if (ep->inherit == ENV_INHERIT_CORE && !matches_any(env_core_names, name)) {
		sbuf_add(w, "inherit core: not a core variable");
		return w->s;
	}
	const struct env_secret *s = secret_match(env_secret_patterns, name);
	if (s && strcmp(name, "SSH_AUTH_SOCK") == 0 && socket_allowed(e->ctx, value))
		s = NULL;
	if (s && !secret_match(env_secret_exempt, name)) {
		sbuf_addf(w, "built-in exclude %s: %s", s->pattern, s->why);
		return w->s;
	}
	if (url_with_password(value)) {
		sbuf_add(w, "built-in: the value is a URL with a password (scheme://user:password@...)");
		return w->s;
	}
	const struct env_rules *ex = &ep->lists[ENV_EXCLUDE];
	for (size_t i = 0; i < ex->n; i++)
		if (env_pattern_match(ex->v[i].text, name)) {
			sbuf_addf(w, "exclude %s (%s)", ex->v[i].text, ex->v[i].origin);
			return w->s;
		}
	const struct env_rules *only = &ep->lists[ENV_INCLUDE_ONLY];
	if (only->n == 0)
		return NULL;
	for (size_t i = 0; i < only->n; i++)
		if (env_pattern_match(only->v[i].text, name))
			return NULL;
	sbuf_add(w, "include_only: matches none of ");
	for (size_t i = 0; i < only->n; i++)
		sbuf_addf(w, "%s%s", i ? ", " : "", only->v[i].text);
	return w->s;
}

static bool kept(const struct env_policy *ep, const char *name)
{
	const struct env_rules *k = &ep->lists[ENV_KEEP];
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->v[i].text, name) == 0)
			return true;
	return false;
}

static void push_entry(struct env_result *r, size_t *cap, char *entry)
{
	grow_array((void **)&r->env, cap, r->n_env + 2, sizeof(*r->env));
	r->env[r->n_env++] = entry;
	r->env[r->n_env] = NULL;
}

/* Step 6: replaces the entry for the name or adds one. */
static void apply_set(struct env_result *r, size_t *cap, const char *text)
{
	size_t len = name_len(text);
	for (size_t i = 0; i < r->n_env; i++)
		if (name_len(r->env[i]) == len && strncmp(r->env[i], text, len) == 0) {
			free(r->env[i]);
			r->env[i] = xstrdup(text);
			return;
		}
	push_entry(r, cap, xstrdup(text));
}

int env_policy_eval(const struct env_policy *ep, char *const *base,
		    const struct env_context *ctx, struct env_result *out, ab_error *err)
{
	memset(out, 0, sizeof(*out));
	const struct env_rules *set = &ep->lists[ENV_SET];
	for (size_t i = 0; ctx->reserved && i < set->n; i++)
		if (ctx->reserved(set->v[i].text)) {
			ab_fail(err, EINVAL, "%s: %.*s is set by agentbox itself in this run (%s); the policy cannot override it",
				set->v[i].origin, (int)name_len(set->v[i].text), set->v[i].text,
				ctx->reserved_why ? ctx->reserved_why : "agentbox's own");
			ab_error_hint(err, "drop the rule, or choose another network mode");
			return -EINVAL;
		}
	struct eval e = {.ep = ep, .ctx = ctx, .out = out};
	size_t cap = 0, cap_drop = 0, cap_kept = 0;
	push_entry(out, &cap, NULL); /* never NULL, also when empty */
	out->n_env = 0;
	for (char *const *p = base; p && *p; p++) {
		const char *entry = *p;
		size_t len = name_len(entry);
		if (len == 0 || entry[len] != '=')
			continue; /* not NAME=VALUE: nothing a program could read */
		_cleanup_free_ char *name = xstrndup(entry, len);
		const char *why = drop_reason(&e, entry, name);
		if (why && kept(ep, name)) {
			grow_array((void **)&out->kept, &cap_kept, out->n_kept + 1, sizeof(*out->kept));
			out->kept[out->n_kept++] = xstrdup(name);
			why = NULL;
		}
		if (!why) {
			push_entry(out, &cap, xstrdup(entry));
			continue;
		}
		grow_array((void **)&out->dropped, &cap_drop, out->n_dropped + 1, sizeof(*out->dropped));
		out->dropped[out->n_dropped].name = name;
		out->dropped[out->n_dropped++].why = xstrdup(why);
		name = NULL;
	}
	for (size_t i = 0; i < set->n; i++)
		apply_set(out, &cap, set->v[i].text);
	sbuf_free(&e.why);
	return 0;
}

void env_result_free(struct env_result *r)
{
	for (size_t i = 0; i < r->n_env; i++)
		free(r->env[i]);
	free(r->env);
	for (size_t i = 0; i < r->n_dropped; i++) {
		free(r->dropped[i].name);
		free(r->dropped[i].why);
	}
	free(r->dropped);
	for (size_t i = 0; i < r->n_kept; i++)
		free(r->kept[i]);
	free(r->kept);
	memset(r, 0, sizeof(*r));
}
