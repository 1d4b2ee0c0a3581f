/* The policy file's deny-glob keys (README "Deny globs" has an
 * example): "deny_globs" and "allow_read" (arrays of strings),
 * "glob_limits" ({"depth", "entries", "ms"}) and "default_secret_globs"
 * (true or false).
 *
 * A pattern or path that does not start with / or ~/ is relative to the
 * working directory (written :cwd/... it means the same): a project's
 * policy file names the project's files the way its user sees them. */
#include "policy/glob_json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/policy.h"

static int bad(struct glob_json_error *e, const char *key, const char *sub, long index,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int bad(struct glob_json_error *e, const char *key, const char *sub, long index,
	       const char *fmt, ...)
{
	e->key = key;
	e->sub = sub;
	e->has_index = index >= 0;
	e->index = index >= 0 ? (size_t)index : 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "~/x" -> home "x"; ":cwd/x" or "x" -> cwd "x"; "/x" -> absolute. */
static enum glob_anchor split_anchor(const char *s, const char **rest)
{
	if (s[0] == '/') {
		*rest = s;
		return GLOB_ABSOLUTE;
	}
	if (strcmp(s, "~") == 0 || strncmp(s, "~/", 2) == 0) {
		*rest = s[1] ? s + 2 : "";
		return GLOB_HOME;
	}
	if (strcmp(s, ":cwd") == 0 || strncmp(s, ":cwd/", 5) == 0) {
		*rest = s[4] ? s + 5 : "";
		return GLOB_CWD;
	}
	*rest = s;
	return GLOB_CWD;
}

static int load_list(ab_policy *stage, json_t *root, const char *key, bool allow,
		     const char *source, struct glob_json_error *e)
{
	json_t *arr = json_object_get(root, key);
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return bad(e, key, NULL, -1, "\"%s\" must be an array of %s, found a %s", key,
			   allow ? "paths such as [\"tests/fixtures/server.pem\"]" : "patterns such as [\"**/.env\"]",
			   json_is_object(arr) ? "object" : "non-array value");
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || !*json_string_value(v))
			return bad(e, key, NULL, (long)i, "\"%s\" entries must be non-empty strings", key);
		const char *rest;
		enum glob_anchor a = split_anchor(json_string_value(v), &rest);
		_cleanup_free_ char *origin = xasprintf("%s %s[%zu]", source, key, i);
		ab_error why;
		int r = allow ? policy_add_allow_read(stage, a, rest, origin, &why)
			      : policy_add_deny_glob(stage, a, rest, origin, &why);
		if (r < 0)
			return bad(e, key, NULL, (long)i, "%s", why.message);
	}
	return 0;
}

static int load_limits(ab_policy *stage, json_t *root, const char *source,
		       struct glob_json_error *e)
{
	json_t *o = json_object_get(root, "glob_limits");
	if (!o)
		return 0;
	if (!json_is_object(o))
		return bad(e, "glob_limits", NULL, -1,
			   "\"glob_limits\" must be an object such as {\"depth\": 32, \"entries\": 200000, \"ms\": 2000}");
	struct glob_limits l = stage->globs.limits;
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		long long n = json_is_integer(v) ? json_integer_value(v) : -1;
		const char *key = strcmp(k, "depth") == 0 ? "depth" : strcmp(k, "entries") == 0 ? "entries" :
				  strcmp(k, "ms") == 0 ? "ms" : NULL;
		if (!key)
			return bad(e, "glob_limits", NULL, -1,
				   "unknown key \"%s\" in \"glob_limits\" (known: depth, entries, ms)", k);
		if (n < 1 || n > GLOB_ENTRIES_MAX)
			return bad(e, "glob_limits", key, -1, "\"glob_limits\" \"%s\" must be a positive integer", key);
		if (key[0] == 'd')
			l.depth = (int)(n > GLOB_DEPTH_MAX ? GLOB_DEPTH_MAX + 1 : n);
		else if (key[0] == 'e')
			l.entries = (long)n;
		else
			l.ms = (int)(n > GLOB_MS_MAX ? GLOB_MS_MAX + 1 : n);
	}
	ab_error why;
	if (glob_limits_check(&l, source, &why) < 0)
		return bad(e, "glob_limits", NULL, -1, "%s", why.message);
	stage->globs.limits = l;
	stage->globs.limits_set = true;
	return 0;
}

int policy_globs_from_json(ab_policy *stage, json_t *root, const char *source,
			   struct glob_json_error *e)
{
	int r;
	if ((r = load_list(stage, root, "deny_globs", false, source, e)) < 0 ||
	    (r = load_list(stage, root, "allow_read", true, source, e)) < 0 ||
	    (r = load_limits(stage, root, source, e)) < 0)
		return r;
	json_t *v = json_object_get(root, "default_secret_globs");
	if (v) {
		if (!json_is_boolean(v))
			return bad(e, "default_secret_globs", NULL, -1,
				   "\"default_secret_globs\" must be true or false");
		ab_policy_set_default_secret_globs(stage, json_is_true(v));
	}
	return 0;
}
